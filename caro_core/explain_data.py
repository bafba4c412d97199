"""Caro's own notes on common programs, their options and subcommands, and the shell's operators.

The notes are written in a small text format, read by :func:`programs` on first use::

    name: what the program does | OPERAND: what the 1st operand is ; OPERAND: the next ones
      -x, --long=VALUE  what the option does (VALUE: it takes a value)
      sub: what the subcommand does | OPERAND: …
        -y  an option of the subcommand

Two spaces or more separate an option's names from its text.  An option written ``-name PATTERN``
takes the next word as its value too; ``-NUM`` stands for any number (``head -5``).  The last
operand description repeats for the remaining operands.
"""

import functools
import re
from dataclasses import dataclass, field

#: Redirection operators; ``{target}`` is the file or descriptor.
REDIRECTS = {
    ">": "write standard output to {target}, replacing its contents",
    ">|": "write standard output to {target}, replacing it even with noclobber set",
    ">>": "append standard output to {target}",
    "<": "read standard input from {target}",
    "<<": "here-document: standard input is the following lines, up to {target}",
    "<<<": "here-string: standard input is the text {target}",
    "<>": "open {target} for reading and writing on standard input",
    "&>": "write standard output and errors to {target}, replacing it",
    "&>>": "append standard output and errors to {target}",
    "2>": "write error messages to {target}, replacing it",
    "2>>": "append error messages to {target}",
    ">&": "send standard output to {target}",
    "2>&": "send error messages to {target}",
}
#: Descriptor targets and special files, as they read in a sentence.
TARGETS = {"&1": "standard output (where normal output goes)", "&2": "standard error",
           "/dev/null": "/dev/null (discarded)", "-": "closed"}

OPERATORS = {
    "&&": "and: run the next command only if the previous one succeeded",
    "||": "or: run the next command only if the previous one failed",
    ";": "then: run the next command whatever the previous one returned",
    "&": "run the command before it in the background",
    "|": "pipe: the output of {left} becomes the input of {right}",
    "|&": "pipe output and errors of {left} into {right}",
}

NOTES = """
ls: list directory contents | FILE: a file or directory to list
  -l  long listing: permissions, owner, size, modification time
  -a, --all  include hidden entries (names starting with a dot)
  -A, --almost-all  include hidden entries except . and ..
  -h, --human-readable  sizes in K, M, G
  -t  sort by modification time, newest first
  -S  sort by size, largest first
  -r, --reverse  reverse the sort order
  -R, --recursive  list subdirectories too
  -d, --directory  list directories themselves, not their contents
  -1  one entry per line
  --color=WHEN  colour the output (always, auto, never)
cd: change the current directory | DIR: the directory to go to
pwd: print the current directory
cp: copy files | SOURCE: what to copy ; DEST: the copy's name or target directory
  -r, -R, --recursive  copy directories and everything in them
  -a, --archive  copy recursively, keeping permissions, owners and times
  -i, --interactive  ask before overwriting
  -n, --no-clobber  never overwrite an existing file
  -f, --force  overwrite without asking
  -v, --verbose  print each file copied
  -p  keep mode, owner and timestamps
  -u, --update  copy only when the source is newer
mv: move or rename files | SOURCE: what to move ; DEST: the new name or target directory
  -i, --interactive  ask before overwriting
  -n, --no-clobber  never overwrite an existing file
  -f, --force  overwrite without asking
  -v, --verbose  print each file moved
rm: remove files or directories | FILE: what to delete
  -r, -R, --recursive  delete directories and everything in them
  -f, --force  never ask, ignore missing files
  -i  ask before every deletion
  -I  ask once before deleting many files
  -v, --verbose  print each file deleted
  -d, --dir  delete empty directories
  --no-preserve-root  allow deleting / itself
rmdir: remove empty directories | DIR: the directory to remove
  -p, --parents  remove empty parent directories too
mkdir: create directories | DIR: the directory to create
  -p, --parents  create parent directories as needed, no error if it exists
  -m, --mode=MODE  permissions of the new directory
touch: create empty files or update their timestamps | FILE: the file to touch
  -d, --date=TIME  use this time instead of now
  -c, --no-create  do not create missing files
ln: make links between files | TARGET: what the link points to ; LINK: the link to create
  -s, --symbolic  make a symbolic link
  -f, --force  replace an existing link
cat: print files one after the other | FILE: a file to print
  -n, --number  number the output lines
  -A, --show-all  show non-printing characters
less: page through text | FILE: the file to read
  -N  show line numbers
  -S  do not wrap long lines
  +F  follow the file as it grows
head: print the first lines of files | FILE: a file to read
  -n, --lines=NUM  how many lines (default 10)
  -c, --bytes=NUM  how many bytes
  -NUM  print the first NUM lines
tail: print the last lines of files | FILE: a file to read
  -n, --lines=NUM  how many lines (default 10); +NUM starts at line NUM
  -f, --follow  keep printing lines as they are added
  -F  follow by name, even when the file is rotated
  -c, --bytes=NUM  how many bytes
  -NUM  print the last NUM lines
grep: print lines matching a pattern | PATTERN: the regular expression to search for ; FILE: a file to search
  -i, --ignore-case  ignore upper/lower case
  -r, --recursive  search directories recursively
  -R, --dereference-recursive  search recursively, following symbolic links
  -n, --line-number  show line numbers
  -v, --invert-match  print lines that do not match
  -l, --files-with-matches  print only the names of matching files
  -c, --count  print only a count of matching lines
  -E, --extended-regexp  extended regular expressions
  -F, --fixed-strings  the pattern is plain text, not a regex
  -w, --word-regexp  match whole words only
  -o, --only-matching  print only the matched parts
  -A, --after-context=NUM  also print NUM lines after each match
  -B, --before-context=NUM  also print NUM lines before each match
  -C, --context=NUM  also print NUM lines around each match
  -e, --regexp=PATTERN  the pattern (useful when it starts with -)
  --include=GLOB  search only files matching GLOB
  --exclude=GLOB  skip files matching GLOB
  -q, --quiet  print nothing; the exit code tells whether it matched
rg: ripgrep, search files recursively for a pattern | PATTERN: the regular expression ; PATH: where to search
  -i, --ignore-case  ignore upper/lower case
  -l, --files-with-matches  print only the names of matching files
  -t, --type=TYPE  search only files of this type (py, js…)
  -g, --glob=GLOB  include or exclude files by glob
  -F, --fixed-strings  the pattern is plain text
find: search for files in a directory tree | DIR: where to start searching
  -name PATTERN  file name matches this glob (case-sensitive)
  -iname PATTERN  file name matches this glob, ignoring case
  -path PATTERN  the whole path matches this glob
  -type TYPE  file type: f file, d directory, l symbolic link
  -mtime N  modified N days ago (-N: less than, +N: more than)
  -mmin N  modified N minutes ago (-N: less than, +N: more than)
  -newer FILE  modified more recently than FILE
  -size N  size (k, M, G suffixes; -N: less than, +N: more than)
  -maxdepth N  descend at most N levels
  -mindepth N  ignore the first N levels
  -user NAME  owned by this user
  -perm MODE  with these permission bits
  -empty  empty files and directories
  -delete  delete every file found
  -exec  run a command on every file found ({} is the file)
  -execdir  run a command from each file's directory
  -print  print the path (the default action)
  -print0  print paths separated by NUL bytes (for xargs -0)
  -prune  do not descend into this directory
  -o, -or  or: either condition
  -not  negate the next condition
xargs: build and run commands from standard input | COMMAND: the command to run with the input as arguments
  -0, --null  input items are separated by NUL bytes
  -I REPLACE  replace REPLACE in the command with each input item
  -n, --max-args=NUM  at most NUM arguments per command
  -P, --max-procs=NUM  run up to NUM commands in parallel
  -r, --no-run-if-empty  do not run the command when there is no input
sed: stream editor: transform text | SCRIPT: the editing commands (s/old/new/g replaces) ; FILE: a file to edit
  -i, --in-place  edit the files in place
  -n, --quiet  print only lines the script prints explicitly
  -e, --expression=SCRIPT  add an editing command
  -E, -r, --regexp-extended  extended regular expressions
awk: pattern scanning and text processing language | PROGRAM: the awk program ('{print $1}' prints the first field) ; FILE: a file to process
  -F SEP  field separator
  -v VAR=VALUE  set an awk variable
sort: sort lines of text | FILE: a file to sort
  -n, --numeric-sort  compare as numbers
  -h, --human-numeric-sort  compare sizes like 2K, 1G
  -r, --reverse  reverse the order
  -u, --unique  drop duplicate lines
  -k, --key=KEYDEF  sort by this field (2 is the second column)
  -t, --field-separator=SEP  field separator
uniq: drop repeated adjacent lines | FILE: the input file
  -c, --count  prefix lines with how often they occur
  -d, --repeated  print only duplicated lines
  -u, --unique  print only lines that are not repeated
wc: count lines, words and bytes | FILE: a file to count
  -l, --lines  count lines
  -w, --words  count words
  -c, --bytes  count bytes
  -m, --chars  count characters
cut: print selected parts of lines | FILE: a file to read
  -d, --delimiter=DELIM  field delimiter (default tab)
  -f, --fields=LIST  which fields (1,3 or 2-4)
  -c, --characters=LIST  which character positions
tr: translate or delete characters | SET1: the characters to replace ; SET2: their replacements
  -d, --delete  delete the characters of SET1
  -s, --squeeze-repeats  squeeze repeated characters into one
tee: copy standard input to files and to standard output | FILE: a file to write
  -a, --append  append instead of overwriting
echo: print its arguments | TEXT: text to print
  -n  no newline at the end
  -e  interpret backslash escapes
printf: print formatted text | FORMAT: the format string ; ARG: a value for the format
diff: compare files line by line | FILE: a file to compare
  -u, --unified  unified format (as patches use)
  -r, --recursive  compare directories recursively
  -q, --brief  only say whether the files differ
du: disk usage of files and directories | FILE: what to measure
  -s, --summarize  one total per argument
  -h, --human-readable  sizes in K, M, G
  -a, --all  every file, not only directories
  -c, --total  a grand total
  -d, --max-depth=N  go at most N levels deep
df: free space on mounted file systems | FILE: a file whose file system to show
  -h, --human-readable  sizes in K, M, G
  -T, --print-type  show file system types
  -i, --inodes  inode usage instead of blocks
free: memory usage
  -h, --human  sizes in K, M, G
  -m, --mebi  sizes in MiB
ps: list processes
  aux  every process of every user, with owner and resource use (BSD style)
  -e, -A  every process
  -f  full format
  -u USER  processes of this user
  -p PID  only this process
  --sort=KEY  sort by this column (-%mem: most memory first)
  -o FORMAT  choose the columns
top: live view of processes
  -u USER  only this user's processes
  -p PID  only this process
  -b  batch mode, for scripts
  -n NUM  stop after NUM updates
htop: interactive process viewer
kill: send a signal to processes | PID: the process to signal
  -9  SIGKILL: stop at once, no clean-up
  -15  SIGTERM: ask to terminate (the default)
  -HUP  SIGHUP: hang up, many daemons reload their configuration
  -s SIGNAL  the signal to send
  -l  list signal names
pkill: signal processes by name | PATTERN: matches process names
  -f  match the whole command line
  -u USER  only this user's processes
  -9  SIGKILL: stop at once
killall: signal processes by exact name | NAME: the program name
  -9  SIGKILL: stop at once
pgrep: find process ids by name | PATTERN: matches process names
  -f  match the whole command line
  -l  show names too
  -a  show full command lines
lsof: list open files and the processes holding them | FILE: a file whose users to list
  -i ADDR  network connections (:8080 is port 8080)
  -p PID  files of this process
  -n  do not resolve host names
  -P  do not resolve port names
ss: socket statistics
  -t, --tcp  TCP sockets
  -u, --udp  UDP sockets
  -l, --listening  listening sockets only
  -n, --numeric  numeric addresses and ports
  -p, --processes  show the process using each socket
  -a, --all  all sockets
netstat: network connections (older tool; ss replaces it)
  -t  TCP
  -u  UDP
  -l  listening only
  -n  numeric addresses
  -p  show the process
chmod: change file permissions | MODE: the new permissions (755, u+x, go-w) ; FILE: a file to change
  -R, --recursive  change directories and everything in them
  -v, --verbose  print each change
chown: change file owner and group | OWNER: user[:group] ; FILE: a file to change
  -R, --recursive  change directories and everything in them
chgrp: change file group | GROUP: the new group ; FILE: a file to change
  -R, --recursive  change directories and everything in them
tar: create, list or extract archives | FILE: a file or directory to put in the archive
  -c, --create  create a new archive
  -x, --extract  extract files from an archive
  -t, --list  list the archive's contents
  -f, --file=ARCHIVE  the archive file
  -z, --gzip  compress or decompress with gzip
  -j, --bzip2  compress or decompress with bzip2
  -J, --xz  compress or decompress with xz
  -v, --verbose  list files as they are processed
  -C, --directory=DIR  change to DIR first
  --exclude=PATTERN  leave out files matching PATTERN
zip: package and compress files | ARCHIVE: the zip file ; FILE: a file to add
  -r  add directories recursively
  -q  quiet
unzip: extract a zip archive | ARCHIVE: the zip file
  -l  list the contents
  -d DIR  extract into DIR
  -o  overwrite without asking
gzip: compress files | FILE: a file to compress
  -d, --decompress  decompress
  -k, --keep  keep the original file
  -r, --recursive  compress directories' files
gunzip: decompress .gz files | FILE: a file to decompress
  -k, --keep  keep the compressed file
curl: transfer data from or to a URL | URL: the address
  -o, --output=FILE  write the body to FILE
  -O, --remote-name  save under the file name in the URL
  -L, --location  follow redirects
  -s, --silent  no progress or error output
  -S, --show-error  show errors even with -s
  -f, --fail  fail (no output) on HTTP errors
  -I, --head  fetch the headers only
  -X, --request=METHOD  HTTP method (GET, POST, PUT, DELETE)
  -H, --header=HEADER  add a request header
  -d, --data=DATA  send DATA as the request body (implies POST)
  -k, --insecure  do not verify the TLS certificate
  -u, --user=USER:PASSWORD  credentials
  -v, --verbose  show the whole exchange
wget: download files from the web | URL: the address
  -O FILE  write to FILE (- is standard output)
  -q, --quiet  no output
  -c, --continue  resume a partial download
  -r, --recursive  download recursively
ssh: log in to or run a command on a remote machine | HOST: user@host to connect to ; COMMAND: the command to run there
  -p PORT  port to connect to
  -i FILE  identity (private key) file
  -L SPEC  forward a local port (local:host:remote)
  -R SPEC  forward a remote port
  -N  no remote command (for forwarding)
  -J HOST  jump through this host
  -v  verbose
scp: copy files over SSH | SOURCE: a file to copy (host:path for remote) ; DEST: where to copy
  -r  copy directories recursively
  -P PORT  port to connect to
  -i FILE  identity file
rsync: fast, incremental file copy | SOURCE: what to copy ; DEST: where to copy it
  -a, --archive  recursive, keeping permissions, times, links
  -v, --verbose  list files transferred
  -z, --compress  compress during transfer
  -n, --dry-run  show what would be done, change nothing
  -P  show progress and keep partial files
  --delete  delete files in DEST that are not in SOURCE
  --exclude=PATTERN  skip files matching PATTERN
  -e SHELL  remote shell to use (ssh -p 2222)
ping: send ICMP echo requests to a host | HOST: the host to reach
  -c COUNT  stop after COUNT packets
  -i SECONDS  wait between packets
  -W SECONDS  time to wait for a reply
dig: query DNS | NAME: the name to look up ; TYPE: record type (A, MX, TXT…)
  +short  print only the answers
nslookup: query DNS | NAME: the name to look up
ip: show and change network interfaces, addresses and routes
  addr: show or change addresses
  route: show or change the routing table
  link: show or change network interfaces
  -c, -color  colour the output
  -br, -brief  brief output
date: print or set the date and time | FORMAT: +FORMAT sets the output format
  -u, --utc  in UTC
  -d, --date=TEXT  show the time described by TEXT instead of now
  -I, --iso-8601  ISO 8601 format
sleep: wait for a time | DURATION: how long (5, 2m, 1h)
watch: run a command repeatedly, showing its output | COMMAND: the command to repeat
  -n, --interval=SECONDS  seconds between runs
  -d, --differences  highlight changes
which: show the full path of commands | NAME: a command name
  -a  every match on PATH
history: the shell's command history
  -c  clear the history
sudo: run a command as another user (root by default) | COMMAND: the command to run
  -u, --user=USER  run as USER
  -i, --login  start a login shell
  -E, --preserve-env  keep the environment
  -k  forget the cached password
env: run a command in a changed environment, or print the environment | COMMAND: the command to run
  -i, --ignore-environment  start with an empty environment
  -u, --unset=NAME  remove a variable
nohup: run a command that keeps running after the terminal closes | COMMAND: the command to run
time: run a command and report how long it took | COMMAND: the command to time
timeout: run a command with a time limit | DURATION: the limit (10s, 5m) ; COMMAND: the command to run
  -s, --signal=SIGNAL  the signal to send at the limit
  -k, --kill-after=DURATION  send SIGKILL this long after the first signal
nice: run a command with a lower priority | COMMAND: the command to run
  -n, --adjustment=N  priority adjustment (higher is nicer)
dd: convert and copy a file block by block
  if=FILE  read from FILE
  of=FILE  write to FILE
  bs=BYTES  block size
  count=N  copy only N blocks
  status=progress  show progress
mount: attach a file system | DEVICE: what to mount ; DIR: where to mount it
  -t TYPE  file system type
  -o OPTIONS  mount options (ro, remount…)
umount: detach a file system | DIR: the mount point or device
  -l, --lazy  detach now, clean up when no longer busy
  -f, --force  force
mkfs: create a file system (erases the device) | DEVICE: the disk or partition
  -t TYPE  file system type
shred: overwrite files to hide their contents | FILE: the file to shred
  -u  delete the file after overwriting
  -n, --iterations=N  overwrite N times
  -z, --zero  finish with a pass of zeros
stat: detailed file status | FILE: the file to describe
  -c, --format=FORMAT  choose the fields
file: guess a file's type | FILE: the file to inspect
basename: strip the directory from a path | PATH: the path
dirname: strip the last part of a path | PATH: the path
realpath: print the absolute, resolved path | PATH: the path
crontab: manage the current user's scheduled jobs | FILE: install this file as the crontab
  -l  list the jobs
  -e  edit the jobs
  -r  remove every job
  -u USER  the crontab of USER
journalctl: read the systemd journal (system logs)
  -u, --unit=UNIT  only this service
  -f, --follow  keep printing new entries
  -n, --lines=NUM  the last NUM entries
  -b, --boot  this boot only
  -p, --priority=LEVEL  only this priority or worse (err, warning)
  -e, --pager-end  jump to the end
  -x, --catalog  add explanations
  --since=TIME  entries since TIME (today, "1 hour ago")
  --until=TIME  entries before TIME
  --no-pager  print without a pager
systemctl: control systemd services | UNIT: the service
  status: show a service's state and latest log lines | UNIT: the service
  start: start a service | UNIT: the service
  stop: stop a service | UNIT: the service
  restart: stop and start a service | UNIT: the service
  reload: reload a service's configuration | UNIT: the service
  enable: start a service at boot | UNIT: the service
  disable: do not start a service at boot | UNIT: the service
  list-units: list loaded units
  --now  also start or stop it now (with enable, disable)
  --user  the user's services, not the system's
  --failed  only failed units
apt: Debian/Ubuntu package manager | PACKAGE: a package
  install: install packages | PACKAGE: a package to install
  remove: remove packages, keeping their configuration | PACKAGE: a package to remove
  purge: remove packages and their configuration | PACKAGE: a package to purge
  update: refresh the package lists
  upgrade: upgrade installed packages
  search: search package descriptions | TEXT: what to look for
  show: show a package's details | PACKAGE: the package
  autoremove: remove packages nothing needs any more
  -y, --yes  answer yes to questions
apt-get: Debian/Ubuntu package tool | PACKAGE: a package
  install: install packages | PACKAGE: a package to install
  remove: remove packages | PACKAGE: a package to remove
  update: refresh the package lists
  upgrade: upgrade installed packages
  -y, --yes  answer yes to questions
dnf: Fedora/RHEL package manager | PACKAGE: a package
  install: install packages | PACKAGE: a package to install
  remove: remove packages | PACKAGE: a package to remove
  upgrade: upgrade packages
  -y  answer yes to questions
brew: Homebrew package manager (macOS) | FORMULA: a package
  install: install a package | FORMULA: the package
  uninstall: remove a package | FORMULA: the package
  update: refresh Homebrew and its package list
  upgrade: upgrade installed packages
pip: install Python packages | PACKAGE: a package
  install: install packages | PACKAGE: a package (name==version pins it)
  uninstall: remove packages | PACKAGE: a package
  list: list installed packages
  freeze: installed packages in requirements format
  -r, --requirement=FILE  install from a requirements file
  -U, --upgrade  upgrade to the newest version
  --user  install into the user's directory
npm: the Node.js package manager | PACKAGE: a package
  install: install dependencies, or the given packages | PACKAGE: a package
  run: run a script from package.json | SCRIPT: the script name
  test: run the test script
  ci: clean install from package-lock.json
  -g, --global  install globally
  -D, --save-dev  record as a development dependency
git: the Git version control system
  -C PATH  run as if started in PATH
  status: show changed, staged and untracked files
    -s, --short  short format
  add: stage changes for the next commit | PATH: a file or directory to stage
    -A, --all  stage every change, deletions included
    -p, --patch  choose hunks interactively
  commit: record the staged changes as a new commit
    -m, --message=MSG  the commit message
    -a, --all  stage modified and deleted files first
    --amend  replace the last commit
  push: send local commits to a remote | REMOTE: the remote (origin) ; BRANCH: the branch
    -u, --set-upstream  remember the remote branch for later pushes and pulls
    -f, --force  overwrite the remote branch, even losing others' commits
    --force-with-lease  force only if the remote branch is as you last saw it
    --tags  push tags too
    --delete  delete the remote branch
  pull: fetch from a remote and integrate | REMOTE: the remote ; BRANCH: the branch
    --rebase  rebase local commits instead of merging
  fetch: download objects and refs from a remote | REMOTE: the remote
    --all  every remote
    -p, --prune  drop references to deleted remote branches
  clone: copy a repository | URL: the repository ; DIR: the new directory
    --depth=N  only the last N commits
  log: show the commit history | REVISION: a commit, branch or range
    --oneline  one line per commit
    --graph  draw the branch graph
    -n, --max-count=NUM  at most NUM commits
    -p, --patch  show each commit's changes
    --stat  files changed per commit
    --author=NAME  commits by this author
    --since=DATE  commits since DATE
  diff: show changes | REVISION: compare against this commit or branch
    --staged, --cached  staged changes
    --stat  a summary per file
    --name-only  only the names of changed files
  show: show a commit and its changes | REVISION: the commit
  checkout: switch branches or restore files | BRANCH: the branch or commit
    -b BRANCH  create BRANCH and switch to it
  switch: switch branches | BRANCH: the branch
    -c, --create=BRANCH  create BRANCH and switch to it
  restore: restore files from the index or a commit | PATH: a file to restore
    --staged  unstage instead of discarding
  branch: list, create or delete branches | BRANCH: a branch
    -a, --all  remote branches too
    -d, --delete  delete a merged branch
    -D  delete a branch even if not merged
    -m, --move  rename a branch
  merge: join another branch into this one | BRANCH: the branch to merge
    --no-ff  always create a merge commit
    --abort  give up the merge in progress
  rebase: replay commits on top of another base | BRANCH: the new base
    -i, --interactive  edit the list of commits first
    --continue  continue after resolving conflicts
    --abort  give up the rebase in progress
  reset: move the branch pointer, unstage changes | COMMIT: where to move
    --soft  keep the changes staged
    --mixed  keep the changes, unstaged (the default)
    --hard  discard every uncommitted change
  stash: set changes aside
    pop  re-apply the latest stash and drop it
    list  list the stashes
    drop  delete a stash
    clear  delete every stash
  clean: delete untracked files
    -f, --force  really delete
    -d  directories too
    -x  ignored files too
    -n, --dry-run  show what would be deleted
  tag: list, create or delete tags | TAG: the tag name
    -a  annotated tag
    -m MSG  the tag message
    -d  delete the tag
  remote: manage remotes
    -v  show URLs
  blame: show who last changed each line | FILE: the file
docker: manage containers and images
  ps: list containers
    -a, --all  stopped containers too
    -q, --quiet  only ids
  run: create and start a container from an image | IMAGE: the image ; COMMAND: the command to run in it
    -d, --detach  run in the background
    -i, --interactive  keep standard input open
    -t, --tty  allocate a terminal
    --rm  remove the container when it stops
    -p, --publish=HOST:CONTAINER  publish a container port on the host
    -v, --volume=HOST:CONTAINER  mount a host path into the container
    -e, --env=VAR=VALUE  set an environment variable
    --name=NAME  name the container
    --privileged  give the container full access to the host
  exec: run a command in a running container | CONTAINER: the container ; COMMAND: the command
    -i, --interactive  keep standard input open
    -t, --tty  allocate a terminal
  logs: show a container's output | CONTAINER: the container
    -f, --follow  keep printing new output
    --tail=N  only the last N lines
  images: list images
  build: build an image from a Dockerfile | CONTEXT: the build directory
    -t, --tag=NAME  name the image
    -f, --file=FILE  the Dockerfile
  stop: stop running containers | CONTAINER: the container
  start: start stopped containers | CONTAINER: the container
  restart: restart containers | CONTAINER: the container
  rm: remove containers | CONTAINER: the container
    -f, --force  stop it first if running
  rmi: remove images | IMAGE: the image
  pull: download an image | IMAGE: the image
  push: upload an image | IMAGE: the image
  inspect: low-level details as JSON | OBJECT: a container or image
  system: manage Docker itself (df, prune)
  compose: multi-container applications (up, down, logs)
  volume: manage volumes
  network: manage networks
  -a, --all  everything, not only the default selection
  -f, --force  do not ask for confirmation
  --volumes  volumes too
kubectl: control Kubernetes clusters
  -n, --namespace=NS  the namespace
  -A, --all-namespaces  every namespace
  -o, --output=FORMAT  output format (wide, yaml, json)
  -l, --selector=LABELS  only objects with these labels
  get: list resources | TYPE: a resource type (pods, svc, deploy) ; NAME: a resource
    -w, --watch  keep watching for changes
  describe: show details and events of resources | TYPE: the resource type ; NAME: the resource
  logs: print a pod's logs | POD: the pod
    -f, --follow  keep printing new lines
    -c, --container=NAME  the container in the pod
    --tail=N  the last N lines
    --previous  the previous, crashed instance
  apply: create or update resources from files | RESOURCE: a resource
    -f, --filename=FILE  the manifest file or directory
  delete: delete resources | TYPE: the resource type ; NAME: the resource
    -f, --filename=FILE  delete what the file describes
    --all  every resource of the type
  exec: run a command in a container | POD: the pod ; COMMAND: the command
    -i, --stdin  keep standard input open
    -t, --tty  allocate a terminal
    -it  interactive terminal
  port-forward: forward local ports to a pod | POD: the pod or service ; PORTS: local:remote
  rollout: manage rollouts (status, restart, undo) | ACTION: status, restart, undo… ; RESOURCE: the deployment
  scale: change the number of replicas | RESOURCE: the deployment
    --replicas=N  the new replica count
  top: resource use of pods or nodes | TYPE: pods or nodes
  config: manage kubeconfig (contexts)
python3: run Python | SCRIPT: the script to run ; ARG: an argument for the script
  -m MODULE  run a module as a script
  -c CODE  run this code
  -V, --version  print the version
make: build targets from a Makefile | TARGET: the target to build
  -j, --jobs=N  run N jobs in parallel
  -C DIR  change to DIR first
  -n, --dry-run  print the commands, do not run them
  -f FILE  use this makefile
vim: the Vim text editor | FILE: the file to edit
nano: a simple text editor | FILE: the file to edit
sh: the POSIX shell | SCRIPT: a script to run
  -c COMMAND  run this command line
  -x  print each command before running it
  -e  stop at the first failing command
bash: the Bash shell | SCRIPT: a script to run
  -c COMMAND  run this command line
  -x  print each command before running it
  -e  stop at the first failing command
  -l, --login  act as a login shell
"""

_OPTION_LINE = re.compile(r"^(?P<spec>\S.*?)(?:\s{2,}(?P<text>.+))?$")


@dataclass
class Doc:
    """What Caro knows about one program or subcommand."""

    summary: str
    operands: list = field(default_factory=list)       # positional descriptions, last repeats
    options: dict = field(default_factory=dict)        # name -> (value placeholder or "", text)
    subcommands: dict = field(default_factory=dict)    # name -> Doc


@functools.cache
def programs():
    """The notes as ``{program: Doc}``, parsed once."""
    table = {}
    stack = []  # (indent, Doc)
    for line in NOTES.splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        text = line.strip()
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if text.startswith(("-", "+")) or "=" in text.split("  ")[0] or not _is_heading(text):
            _add_option(stack[-1][1], text)
            continue
        name, _, rest = text.partition(": ")
        summary, _, operands = rest.partition(" | ")
        doc = Doc(summary, [o.strip() for o in operands.split(" ; ") if o.strip()])
        (stack[-1][1].subcommands if stack else table)[name] = doc
        stack.append((indent, doc))
    table["python"] = table["python3"]
    table["zsh"] = table["bash"]
    return table


def _is_heading(text):
    head = text.split("  ")[0]
    return ": " in text and re.fullmatch(r"[a-z0-9][a-z0-9.+-]*", head.partition(": ")[0]) is not None


def _add_option(doc, text):
    """``-n, --lines=NUM`` → ``-n`` and ``--lines`` taking NUM; ``if=FILE`` → ``if=`` (dd style)."""
    match = _OPTION_LINE.match(text)
    spec, meaning = match["spec"], match["text"] or ""
    names = []
    placeholder = ""
    for name in spec.split(", "):
        if name.startswith("--") or not name.startswith(("-", "+")) and "=" in name:
            name, _, value = name.partition("=")
            if not name.startswith("-"):
                name, value = name + "=", ""
        else:
            name, _, value = name.partition(" ")
        names.append(name)
        placeholder = placeholder or value
    for name in names:  # the value named on one spelling is taken by every spelling
        doc.options[name] = (placeholder, meaning)
