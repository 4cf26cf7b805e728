# Drive a command on a real pseudo-terminal (test/command-pipes.test.ts): run argv[1:] under a new
# pty, then for each step of the JSON on stdin ({"send": hex, "expect": regex, "kill": pid file}) wait
# until the output matches `expect` (15 s at most), create the file `touch` names, wait (60 s at most)
# until the file `wait_file` names exists, send the bytes (or SIGKILL the process whose PID the file
# holds), and go on; print {"status", "output", "failed"}. PTY_SIZE="<rows>x<columns>" in the environment
# sets the terminal's size before the command starts; a step's "winsize": [rows, columns] changes it
# (the command's process group gets SIGWINCH).
import fcntl, json, os, pty, re, select, struct, sys, termios, time

steps = json.load(sys.stdin)
def set_size(fd, rows, columns):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))

pid, fd = pty.fork()
if pid == 0:
    size = os.environ.get("PTY_SIZE")
    if size:
        rows, columns = size.split("x")
        set_size(0, int(rows), int(columns))
    os.execvp(sys.argv[1], sys.argv[1:])

out = b""
failed = None

def read_for(seconds):
    global out
    end = time.time() + seconds
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return False
            if not data:
                return False
            out += data
    return True

def wait_for(pattern, seconds=15):
    global out
    end = time.time() + seconds
    while time.time() < end:
        if re.search(pattern.encode(), out, re.S):
            return True
        if not read_for(0.05):
            return bool(re.search(pattern.encode(), out, re.S))
    return False

for step in steps:
    if "expect" in step and not wait_for(step["expect"]):
        failed = "timed out waiting for " + step["expect"]
        break
    if "touch" in step:
        open(step["touch"], "w").close()
    if "wait_file" in step:
        end = time.time() + 60
        while not os.path.exists(step["wait_file"]) and time.time() < end:
            read_for(0.05)
        if not os.path.exists(step["wait_file"]):
            failed = "timed out waiting for the file " + step["wait_file"]
            break
    if "winsize" in step:
        set_size(fd, step["winsize"][0], step["winsize"][1])
    if "send" in step:
        os.write(fd, bytes.fromhex(step["send"]))
    if "kill" in step:
        with open(step["kill"]) as f:
            os.kill(int(f.read().strip()), 9)

if failed:
    os.kill(pid, 9)
while read_for(0.2):
    pass
_, status = os.waitpid(pid, 0)
code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
print(json.dumps({"status": code, "output": out.decode("utf-8", "replace"), "failed": failed}))
