"""Networking: addresses, ping, DNS, downloads, HTTP requests, open ports on hosts, routes, SSH."""

from .intent import Rules
from .request import q

rules = Rules("network")


def target(r):
    """The host the request names: an IP, a host name, or the host of ``user@host``."""
    host = r.host()
    if host:
        return host
    pair = r.userhost()
    return pair[1] if pair else None


@rules("ip|network|interface", opt="show all public local interface", avoid="docker container pod "
       "kubernetes #host route")
def my_address(r, p):
    """This machine's IP addresses (or the public one)."""
    if r.has("public"):
        return [("curl -s https://ifconfig.me", "your public IP address, as a web service sees it"),
                ("dig +short myip.opendns.com @resolver1.opendns.com", "the same through DNS")]
    if p.mac:
        return [("ipconfig getifaddr en0", "the IPv4 address of en0 (usually Wi-Fi)"),
                ("ifconfig | grep 'inet '", "every IPv4 address")]
    if r.has("interface"):
        return [("ip -brief link", "network interfaces and their state"),
                ("ip -brief address", "interfaces with their addresses")]
    return [("ip -brief address", "every interface with its IP addresses"),
            ("hostname -I", "just the addresses")]


@rules("ping|#host", opt="count time check", avoid="dns ssh #url port #port trace download copy "
       "sync")
def ping(r, p):
    """ping a host a few times."""
    host = target(r)
    if not host or not r.has("ping"):
        return None
    count = r.number("4")
    return [(f"ping -c {count} {q(host)}", f"send {count} echo requests to {host}")]


@rules("dns|ip #host", opt="show find ip mx all system", avoid="ping ssh port #port")
def dns(r, p):
    """DNS lookups: the addresses (or MX, NS, TXT records) of a name."""
    host = r.host()
    if not host:
        return None
    record = next((t for t in ("MX", "NS", "TXT", "AAAA", "CNAME") if t.lower() in
                   r.text.lower().split()), "")
    if host.replace(".", "").isdigit():
        return [(f"dig +short -x {host}", f"the name of {host} (reverse lookup)")]
    spaced = f" {record}" if record else ""
    return [(f"dig +short{spaced} {q(host)}", f"the {record or 'A'} records of {host}"),
            (f"nslookup {'-type=' + record + ' ' if record else ''}{q(host)}",
             "the same with nslookup")]


@rules("download|#url", opt="file save", avoid="header request git clone docker pip install")
def download(r, p):
    """Download a URL to a file."""
    url = r.url()
    if not url or not r.has("download") and r.free_words:
        return None
    out = r.file()
    if out:
        return [(f"curl -L -o {q(out)} {q(url)}", f"download {url} to {out}"),
                (f"wget -O {q(out)} {q(url)}", "the same with wget")]
    pairs = [(f"curl -LO {q(url)}", f"download {url} into the current directory, same file name")]
    if p.has("wget"):
        pairs.append((f"wget {q(url)}", "the same with wget"))
    return pairs


@rules("header #url", opt="show request")
def headers(r, p):
    """The HTTP response headers of a URL."""
    url = r.url()
    return [(f"curl -sI {q(url)}", f"only the response headers of {url}")]


@rules("request #url", opt="json #quoted push", avoid="header download")
def http_request(r, p):
    """Send an HTTP request (POST with a JSON body when one is given)."""
    url = r.url()
    body = r.quoted()
    method = next((m for m in ("POST", "PUT", "DELETE", "PATCH") if m.lower() in
                   r.text.lower().split()), "POST" if body else "GET")
    if method == "GET":
        return [(f"curl -s {q(url)}", f"GET {url} and print the body")]
    data = f" -d {q(body)}" if body else ""
    return [(f"curl -X {method} -H 'Content-Type: application/json'{data} {q(url)}",
             f"send a {method} request with a JSON body to {url}")]


@rules("#port", opt="check open listen reachable ping", avoid="process kill docker kubernetes "
       "forward")
def port_open(r, p):
    """Whether a TCP port is open on a remote host."""
    host = target(r)
    port = r.port()
    if not host or host == "localhost" and not r.has("listen", "check"):
        return None
    return [(f"nc -zv {q(host)} {port}",
             f"try to connect to {host}:{port} and say whether it is open"),
            (f"timeout 3 bash -c '</dev/tcp/{host}/{port}' && echo open", "the same without nc")]


@rules("trace", opt="show network #host", avoid="ssh")
def traceroute(r, p):
    """The route packets take to a host."""
    host = target(r)
    if not host:
        return None
    pairs = [(f"traceroute {q(host)}", f"every hop between here and {host}")]
    if p.found("mtr"):
        pairs.append((f"mtr -rw {q(host)}", "a report with loss and latency per hop"))
    return pairs


@rules("route", opt="show all network table default")
def routes(r, p):
    """The routing table, or the route to one host."""
    host = r.host()
    if host:
        command = f"route get {q(host)}" if p.mac else f"ip route get {q(host)}"
        return [(command, f"the route (interface and gateway) packets to {host} take")]
    if p.mac:
        return [("netstat -rn", "the routing table")]
    return [("ip route", "the routing table"),
            ("ip route get 1.1.1.1", "the route to the internet")]


@rules("connection", opt="show all network tcp open", avoid="docker container ssh")
def connections(r, p):
    """Open network connections."""
    if p.mac:
        return [("netstat -an | grep ESTABLISHED", "established connections"),
                ("lsof -nP -i", "connections with their processes")]
    return [("ss -tunp state established", "established TCP and UDP connections with processes"),
            ("ss -s", "a summary of sockets")]


@rules("ssh|login|connect", opt="ssh remote #port listen", avoid="key copy git")
def ssh_connect(r, p):
    """Log in to a host over SSH (as a user, on a port)."""
    pair = r.userhost()
    host = pair[1] if pair else r.host()
    user = pair[0] if pair else r.name("user")
    if not host:
        return None
    port = r.port()
    dest = f"{user}@{host}" if user else host
    flag = f"-p {port} " if port else ""
    return [(f"ssh {flag}{q(dest)}", f"open a shell on {host}" + (f" as {user}" if user else "")
             + (f" through port {port}" if port else ""))]


@rules("copy|sync|upload|push #userhost", opt="file dir recursive ssh all")
def remote_copy(r, p):
    """Copy files to or from another machine (scp, rsync)."""
    user, host, path = r.userhost()
    local = r.paths(("file", "any", "dir", "in"))
    if not local:
        return None
    remote = f"{user}@{host}:{path or ''}"
    recursive = r.has("dir", "recursive", "sync") or any(x.endswith("/") for x in local)
    sources = " ".join(q(x) for x in local)
    if r.has("sync") or recursive:
        return [(f"rsync -avz {sources} {q(remote)}", f"copy {', '.join(local)} to {host}, "
                 "sending only what changed"),
                (f"scp -r {sources} {q(remote)}", "the same with scp")]
    return [(f"scp {sources} {q(remote)}", f"copy {', '.join(local)} to {host} over SSH"),
            (f"rsync -avz {sources} {q(remote)}", "the same with rsync")]


@rules("sync", opt="dir file copy all delete", avoid="#userhost git")
def local_sync(r, p):
    """Mirror one directory into another."""
    paths = r.paths(("file", "any", "dir", "in"))
    if len(paths) != 2 or any("://" in path for path in paths):   # s3://… is no rsync target
        return None
    src, dst = paths
    src = src if src.endswith("/") else src + "/"
    delete = " --delete" if r.has("delete") else ""
    return [(f"rsync -av{delete} {q(src)} {q(dst)}", f"make {dst} a copy of {src}")]


@rules("create|ssh key", opt="ssh key new")
def ssh_keygen(r, p):
    """Create an SSH key pair."""
    if not r.has("ssh") and not r.has("create"):
        return None
    pair = r.userhost()
    comment = f" -C {q(pair[0] + '@' + pair[1])}" if pair else ""
    if r.has("copy") or r.free_words:
        return None
    return [(f"ssh-keygen -t ed25519{comment}", "create an Ed25519 SSH key pair in ~/.ssh")]


@rules("copy key #userhost|#host", opt="ssh key")
def ssh_copy_id(r, p):
    """Install your public key on a server for password-less login."""
    pair = r.userhost()
    dest = f"{pair[0]}@{pair[1]}" if pair else r.host()
    return [(f"ssh-copy-id {q(dest)}", f"add your public key to {dest}'s authorized_keys")]


@rules("hostname", opt="show system")
def hostname(r, p):
    """This machine's name."""
    return [("hostname", "this machine's host name")]
