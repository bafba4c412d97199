"""The personal view's anomaly panel: its JSON under /api/, its HTML (escaped), no raw detail."""

import datetime as dt
import json
import time

from caro_core import hookimpl
from caro_core.anomaly import Anomaly
from caro_core.dashboard import period_range
import test_dashboard_server
from test_anomaly import MARKER, add, ordinary_days

client, serve = test_dashboard_server.client, test_dashboard_server.serve  # shared fixtures


def section(html):
    start = html.index('id="panel-anomalies"')
    return html[start:html.index("</section>", start)]


def test_a_burst_today_against_a_month_of_ordinary_days(node, client):
    now = time.time()
    today, _ = period_range("today", now)
    first_day = (dt.datetime.fromtimestamp(today) - dt.timedelta(days=30)).timestamp()
    ordinary_days(node, first_day, 31, until=now)
    middle = today + (now - today) / 2
    add(node, f"rm -rf /home/ann/{MARKER}-dir", [middle + i for i in range(4)])
    client.login()
    data = client.json("/api/personal/anomalies?period=today")["data"]
    assert MARKER not in json.dumps(data)
    assert data["baseline"]["ready"] and data["failures"] == []
    assert data["baseline"]["days"] == round((today - first_day) / 86400, 2)
    (burst,) = [a for a in data["anomalies"] if a["kind"] == "RepeatedRisky"]
    assert burst["count"] == 4 and burst["description"].startswith("4 high-risk commands within")
    _, _, html = client.get("/")
    shown = section(html)
    assert MARKER not in shown and "RepeatedRisky" in shown
    assert f'<span class="badge risk-high">{burst["severity"]} · Medium</span>' in shown
    assert "Compared with the last 30 days of this node" in shown


def test_an_empty_node_is_still_learning(client):
    client.login()
    data = client.json("/api/personal/anomalies?period=month")["data"]
    assert data == {"anomalies": [], "baseline": {"days": 0.0, "events": 0, "ready": False},
                    "failures": []}
    _, _, html = client.get("/?period=month")
    shown = section(html)
    assert "No anomalies in this period." in shown and "Still learning" in shown


class Loud:
    @hookimpl
    def caro_anomaly_detect(self, node, window):
        return [Anomaly("Odd", 10, "<script>alert(1)</script> & more", 2, window.since,
                        window.since + 60)]


class Broken:
    @hookimpl
    def caro_anomaly_detect(self, node, window):
        raise RuntimeError("<b>detector bug</b>")


def test_descriptions_are_escaped_and_a_failing_detector_is_named(node, client):
    node.pm.register(Loud(), name="loud")
    node.pm.register(Broken(), name="broken")
    client.login()
    data = client.json("/api/personal/anomalies")["data"]
    assert data["anomalies"][0]["description"] == "<script>alert(1)</script> & more"
    assert data["failures"] == [{"plugin": "broken", "error": "RuntimeError: <b>detector bug</b>"}]
    _, _, html = client.get("/")
    shown = section(html)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in shown
    assert '<span class="badge risk-critical">10 · Critical</span>' in shown
    assert "Detector broken failed: RuntimeError: &lt;b&gt;detector bug&lt;/b&gt;" in shown
