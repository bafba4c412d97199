"""cron: list and edit crontabs, schedule a command (every N minutes, daily at 3am, on Mondays,
at boot), systemd timers."""

from .intent import Rules
from .request import q

rules = Rules("cron")


def _command(r):
    """The command to schedule: quoted text, else a script path, else None."""
    quoted = r.quoted()
    if quoted:
        return quoted
    path = r.file()
    if not path:
        return None
    return path if path.startswith(("/", "~")) else f"$HOME/{path.removeprefix('./')}"


@rules("cron|#schedule", opt="show all user job #name",
       avoid="modify create add delete run #path #quoted history error")
def list_jobs(r, p):
    """The cron jobs of the current (or a named) user."""
    if not r.has("cron") or r.count("schedule"):
        return None
    user = r.name("user")
    if user:
        return [(f"sudo crontab -u {q(user)} -l", f"the cron jobs of {user}")]
    return [("crontab -l", "your cron jobs"),
            ("ls /etc/cron.d /etc/cron.daily", "system-wide jobs")]


@rules("cron", opt="modify create add job user",
       avoid="#schedule #path #quoted delete show history error")
def edit(r, p):
    """Edit the crontab."""
    if not r.has("modify", "create", "add"):
        return None
    user = r.name("user")
    if user:
        return [(f"sudo crontab -u {q(user)} -e", f"open the crontab of {user} in the editor")]
    return [("crontab -e", "open your crontab in the editor")]


@rules("#schedule", opt="cron run create add every daily hourly weekly script file job")
def schedule(r, p):
    """Add a cron job that runs a command on the schedule described."""
    when = r.schedule()
    command = _command(r)
    if not command:
        if not r.has("cron", "run", "create", "add", "script"):
            return None
        return [("crontab -e", f"open your crontab and add a line: {when.cron} <command>")]
    line = f"{when.cron} {command}"
    echo = f'echo "{line}"' if "$HOME" in line else f"echo {q(line)}"
    return [(f"(crontab -l 2>/dev/null; {echo}) | crontab -",
             f"add the cron job '{line}' to your crontab"),
            ("crontab -e", f"or add the line yourself: {line}")]


@rules("delete cron", opt="all job", avoid="#schedule")
def remove(r, p):
    """Remove cron jobs."""
    if r.has("all"):
        return [("crontab -r", "delete your whole crontab"),
                ("crontab -e", "or delete lines by hand")]
    return [("crontab -e", "open your crontab and delete the job's line")]


@rules("timer", opt="show all systemd")
def timers(r, p):
    """systemd timers and when they run next."""
    return [("systemctl list-timers --all", "every systemd timer with its next and last run")]
