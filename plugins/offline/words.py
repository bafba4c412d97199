"""The offline engine's vocabulary: filler words, synonyms folded into concepts, file-type names.

A request is read as a bag of *concepts*: every word people use for the same
idea (``folder``, ``directory``, ``dir``) becomes one concept (``dir``), so
an intent names the idea once and understands every phrasing.  The tables
are plain text so they read like a thesaurus; :func:`concept` folds one word.
"""

import functools

#: Words that carry no meaning for choosing a command.
STOPWORDS = frozenset("""
a an the this that these those it its it's what's where's there's that's how's of for to in into
on onto at by with from as and or
but is are was were be been being am do does did can could would should will shall may might
must please pls me my mine i i'm we our us you your yours he she they them their there here
how what which whom whose when why some any so just only also then than
too very really kindly want wanna need needs like let lets let's tell help hey hi okay
ok thanks thank now currently out off about via using use used within inside
under over per named called having have has whether if yes one ones thing things
much since everyone bring between versus vs against command commands cmd way
quickly quick easily simply simple actually currently basically somebody someone something stuff
""".split())

#: concept: the words that mean it (plural and -ing/-ed forms are folded automatically).
_SYNONYMS = """
show: show list display print view see lists listing enumerate get check output dump
    read cat test
find: find search locate look seek hunt grep lookup discover where spot identify detect scan
file: file document binary binaries
dir: directory folder dir subdirectory subfolder subdir
large: large big biggest largest huge heavy bulky massive enormous giant fat bloated
small: small smallest tiny little
top: top most highest heaviest hungriest hogging hog
last: last latest newest recent recently final bottom tail
old: old oldest stale
create: create make new generate init initialise initialize set
add: add append insert attach give put
start: start begin launch boot-up
delete: delete remove erase rm wipe purge drop destroy del trash nuke clear clean cleanup unlink
    expunge toss
copy: copy cp scp
move: move mv relocate transfer
rename: rename
count: count number many tally total amount quantity
size: size sizes space big
sort: sort sorted order ordered arrange rank ranked
hidden: hidden dotfile dotfiles
empty: empty blank
modify: modify modified change changed edit edited touch touched write written
    alter altered modification modifications mtime work
broken: broken dead invalid orphaned
force: force forcefully forced hard forcibly -9 -f -kill
background: background detached detach daemonize nohup
consume: consume consuming eating eats taking takes hogging occupy occupying hungry uses
not: not no never without except excluding exclude dont doesnt isnt arent
insensitive: case-insensitive insensitive insensitively ignore-case ignorecase nocase ignore
    ignoring case
reverse: reverse reversed descending
current: current active present
switch: switch checkout go
uncommitted: uncommitted unstaged pending
untracked: untracked
unstage: unstage
amend: amend fixup
pop: pop unstash
abort: abort cancel
message: message msg
resource: resource resources
save: save store keep temporarily aside shelve
provide: provide provides providing provided
delimiter: separated delimited delimiter separator colon colons comma commas tab
    tabs semicolon semicolons
numeric: numeric numerically
email: email mail e-mail
name: name names
interactive: interactive interactively
refresh: refresh resync
exist: exist exists existing
depth: depth deep level levels
frequent: frequent frequently common popular often appear appears
previous: previous prior
device: device devices block
entry: entry entries
timer: timer timers
syslog: syslog
attempt: attempt attempts tries
squash: squash combine
rebase: rebase
cherry: cherry-pick cherry
fetch: fetch
code: code source sloc loc
convert: convert transform turn
run: run running execute executing exec active alive
stop: stop halt shutdown terminate down quit
kill: kill
end: end
restart: restart reboot reload bounce recycle
process: process proc program task pid id
port: port ports
listen: listen listening bound bind open opened
disk: disk drive storage filesystem partition hdd ssd
memory: memory ram mem
cpu: cpu processor core cores
network: network net networking internet wifi ethernet lan
ip: ip address addresses ipv4 ipv6 addr
download: download wget curl grab retrieve
archive: archive tarball tar tgz zip compressed
compress: compress pack zip gzip bundle tar archive bzip2 xz zstd 7z
extract: extract unpack unzip untar decompress unarchive inflate expand gunzip bunzip2 unxz unrar
content: content contents inside inner
replace: replace substitute sed
line: line lines row rows
word: word words
column: column columns field fields col
unique: unique distinct uniq dedupe deduplicate
duplicate: duplicate duplicated dupe dupes repeated
compare: compare diff difference differences differ
pretty: pretty format beautify prettify indent
text: text string pattern word phrase keyword occurrence occurrences mention mentions
containing: containing contain contains include includes including match matches matching
commit: commit commits committed changeset revision
branch: branch branches
merge: merge merged
push: push pushed upload publish send
pull: pull pulled
stash: stash stashed
undo: undo revert reverse rollback roll discard reset restore
stage: stage staged cached index area
history: history log logs journal journalctl logged
container: container
image: image images
pod: pod
deployment: deployment deploy deployments
service: service daemon unit
namespace: namespace
node: node nodes
package: package pkg packages library lib module software tool utility
install: install installing installed setup
global: global globally system-wide
uninstall: uninstall uninstalled deinstall
upgrade: upgrade upgrades upgradable outdated update updates updated updating
permission: permission permissions perms mode access rights chmod readable writable writeable
    privilege privileges
    world-writable
executable: executable runnable
setuid: setuid suid setgid
owner: owner ownership owned own owns chown
group: group groups
member: belong belongs member members membership
user: user users account who
others: others other everyone everybody world
cron: cron crontab scheduled schedule periodically
job: job jobs
daily: daily everyday nightly
hourly: hourly
weekly: weekly
all: all everything entire whole every each
error: error errors fail failed failure failures failing warning warnings critical crash crashed
    problem problems issue issues exception exceptions panic fatal traceback
system: system os machine computer server host box linux distro distribution macos
boot: boot startup booted
kernel: kernel dmesg
follow: follow watch stream live continuously realtime monitor
first: first head beginning
time: time date timestamp when
free: free remaining left available
today: today
connection: connection connections connected socket sockets established
ping: ping reachable reachability up connectivity
dns: dns resolve resolves resolution nameserver mx record records ns cname aaaa txt
route: route routes routing gateway
interface: interface interfaces nic adapter adapters
header: header headers
request: request post get put patch http https
ssh: ssh session
key: key keys keypair
uppercase: uppercase upper capital capitals capitalize
lowercase: lowercase lower
character: character characters char chars byte bytes letter letters
symlink: symlink symlinks link links shortcut
tree: tree hierarchy structure graph
recursive: recursive recursively subdirectories subfolders nested -r
yaml: yaml yml manifest
json: json
csv: csv
configure: configure config configuration setting settings
context: context contexts cluster clusters kubeconfig
scale: scale replica replicas
rollout: rollout
forward: forward forwarding tunnel
describe: describe details detail info information status state inspect model
tag: tag tags
version: version versions release releases
inode: inode inodes
remote: remote remotes origin upstream
author: author authors authored blame
clone: clone
type: type kind
mount: mount mounted mounts
swap: swap
uptime: uptime
load: load average
hostname: hostname
public: public external
trace: trace traceroute traceroutes hops path
shell: shell bash terminal sh prompt
enable: enable enabled autostart
disable: disable disabled
volume: volume volumes
prune: prune unused dangling
build: build built
stat: stats statistics
usage: usage utilisation utilization consumption full
secret: secret secrets
ingress: ingress ingresses
configmap: configmap configmaps
statefulset: statefulset statefulsets
daemonset: daemonset daemonsets
cronjob: cronjob cronjobs
event: event events
apply: apply
expose: expose exposed publish
sync: sync rsync mirror synchronise synchronize
speed: speed bandwidth
login: login logins loggedin loggedinto logon auth authentication
access: access
ago: ago
backup: backup
wait: wait
docker: docker podman dockerd
kubernetes: kubernetes kubectl k8s kube
git: git github gitlab repo repository
apt: apt apt-get aptitude dpkg
brew: brew homebrew
pip: pip pip3 pypi
npm: npm yarn pnpm
systemd: systemd systemctl
compose: compose docker-compose
"""


@functools.cache
def synonyms():
    """``{word: concept}`` from the thesaurus above (built on first use)."""
    table = {}
    for entry in _SYNONYMS.replace("\n    ", " ").strip().splitlines():
        name, _, words = entry.partition(":")
        for word in words.split():
            table.setdefault(word, name)
        table.setdefault(name, name)
    return table


def concept(word):
    """The concept ``word`` means, or the word itself (singular) when it is not a synonym."""
    table = synonyms()
    if word in table:
        return table[word]
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("es", ""), ("s", ""), ("ing", ""),
                         ("ing", "e"), ("ed", ""), ("ed", "e")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: len(word) - len(suffix)] + repl
            if stem in table:
                return table[stem]
            if suffix in ("ing", "ed") and not repl and stem[-1] == stem[-2] and stem[:-1] in table:
                return table[stem[:-1]]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


#: Names people give file types, mapped to their extensions.
FILE_TYPES = {
    "python": ("py",), "py": ("py",), "javascript": ("js",), "js": ("js",),
    "typescript": ("ts",), "ts": ("ts",), "markdown": ("md",), "md": ("md",),
    "text": ("txt",), "txt": ("txt",), "log": ("log",), "json": ("json",), "yaml": ("yaml", "yml"),
    "yml": ("yml",), "csv": ("csv",), "html": ("html",), "css": ("css",), "go": ("go",),
    "golang": ("go",), "rust": ("rs",), "java": ("java",), "c": ("c",), "cpp": ("cpp",),
    "shell": ("sh",), "sh": ("sh",), "bash": ("sh",), "pdf": ("pdf",), "xml": ("xml",),
    "image": ("jpg", "jpeg", "png", "gif"), "jpg": ("jpg",), "jpeg": ("jpeg",), "png": ("png",),
    "gif": ("gif",), "photo": ("jpg", "jpeg", "png"), "picture": ("jpg", "jpeg", "png"),
    "video": ("mp4", "mkv", "mov"), "mp4": ("mp4",), "mp3": ("mp3",),
    "audio": ("mp3", "wav", "flac"),
    "sql": ("sql",), "toml": ("toml",), "ini": ("ini",), "conf": ("conf",), "rb": ("rb",),
    "ruby": ("rb",), "php": ("php",), "tmp": ("tmp",), "temporary": ("tmp",), "bak": ("bak",),
    "backup": ("bak",), "zip": ("zip",), "tar": ("tar",), "gz": ("gz",), "iso": ("iso",),
    "doc": ("doc", "docx"), "docx": ("docx",), "excel": ("xlsx", "xls"), "xlsx": ("xlsx",),
    "swift": ("swift",), "kotlin": ("kt",), "lua": ("lua",), "h": ("h",), "header": ("h",),
    "svg": ("svg",), "config": ("conf",), "env": ("env",), "lock": ("lock",),
    "pyc": ("pyc",), "o": ("o",),
    "class": ("class",), "jar": ("jar",), "deb": ("deb",), "rpm": ("rpm",), "dmg": ("dmg",),
    "vue": ("vue",), "tsx": ("tsx",), "jsx": ("jsx",), "scss": ("scss",), "proto": ("proto",),
    "mkv": ("mkv",), "mov": ("mov",), "wav": ("wav",), "webp": ("webp",),
}

#: Top-level domains that make ``name.tld`` a host rather than a file.
HOST_SUFFIXES = frozenset("""com org net io dev app ai co uk de fr nl eu us ca au jp cn ru in br
local lan internal intra corp home arpa edu gov mil info biz me tv cloud site xyz tech""".split())

#: Extensions that are certainly files even when they look like a domain.
FILE_SUFFIXES = frozenset("""txt log py js ts md json yaml yml csv html css go rs java c cpp h sh
pdf xml jpg jpeg png gif mp4 mp3 sql toml ini conf rb php tmp bak zip tar gz tgz bz2 xz 7z rar iso
doc docx xlsx env lock pyc o jar deb rpm dmg svg key pem crt cfg out err db sqlite tf lua swift kt
vue tsx jsx scss proto whl gem service timer socket patch diff mkv mov wav webp ipynb""".split())

#: Directory names common enough to be taken for one even when they are also words
#: (``under build``, ``the folder logs``).
DIR_NAMES = frozenset("""build dist src lib bin logs log config conf backup backups docs doc test
tests tmp public static assets data images scripts vendor node_modules out target downloads
documents desktop etc var opt usr srv app apps release releases cache""".split())

#: Concepts that are tool names: they may also be the *name* of a thing
#: (``group docker``, ``service ssh``) when a keyword announces one.
TOOLS = frozenset("docker kubernetes git apt brew pip npm systemd cron ssh".split())

#: Concepts that say what to do or how, never what a thing is called: a word meaning one of
#: them is not taken as a name (``the build folder`` names ``build``, ``the new folder`` does not).
GRAMMAR = frozenset("""show find create delete copy move rename count sort modify run stop kill
restart start install uninstall upgrade all last first large small top old hidden empty recursive
follow add push pull merge describe free size content compress extract undo enable disable current
tree permission owner depth type usage provide""".split())

#: Concepts so general that leaving them unexplained costs an intent nothing.
SOFT = frozenset("show find all current usage exist".split())

#: Phrases read as one word (same length, so positions in the request stay put).
PHRASES = (("get rid of", "remove"), ("set up", "setup"), ("clean up", "cleanup"),
           ("look up", "lookup"), ("log into", "login"), ("log in", "login"),
           ("bring up", "start"), ("bring down", "stop"), ("take up", "consume"),
           ("back up", "backup"),
           ("open up", "unpack"), ("shut down", "shutdown"), ("logged in", "loggedin"),
           ("logged into", "loggedinto"),
           ("is there", "exists"))

#: Ordinals, read as numbers before ``column``, ``field`` or ``line``.
ORDINALS = {"first": "1", "second": "2", "third": "3", "fourth": "4", "fifth": "5", "sixth": "6",
            "seventh": "7", "eighth": "8", "ninth": "9", "tenth": "10"}

#: Number words people spell out ("top ten").
NUMBERS = {"two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
           "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "fifteen": "15",
           "twenty": "20", "thirty": "30", "fifty": "50", "hundred": "100", "dozen": "12"}
