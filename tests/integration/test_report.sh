#!/usr/bin/env bash
# test_report.sh - `relais-server report` over data written by real clients
# and synced to a real server on loopback.
#
# A server store is made and served; six devices are enrolled (antennas A,
# B, C and D, a mobile of A, an hq first-line device). About forty
# situations are written through the `relais` command line - opened,
# tagged, logged, alerted, closed, reopened, amended - then reassigned and
# erased across devices, and everything is synced. The test keeps its own
# ledger of what it wrote and computes every figure from it in Python,
# independently of the report, for the whole network, one antenna, one
# period, and one antenna over a period; the JSON report must match it
# exactly, the CSV must say the same as the JSON, the text must show the
# figures, bad arguments must fail with the documented codes. The HTML report
# is opened in headless Chromium (installed when missing and root; skipped
# with a message only when it cannot be had): the screenshot must be a real
# picture with bars in it, and the DOM must hold the three SVG charts and the
# figures.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${BUILD:-build}"
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
RELAIS="$BUILD/relais"
SERVER="$BUILD/relais-server"
for b in "$RELAIS" "$SERVER"; do
	[ -x "$b" ] || { echo "FAIL [test_report]: $b not built (make)" >&2; exit 1; }
done
command -v python3 >/dev/null || { echo "FAIL [test_report]: python3 is needed" >&2; exit 1; }

T="$(mktemp -d)"
SRV_PID=""
cleanup() {
	local rc=$?
	if [ $rc -ne 0 ] && [ -s "$T/server.log" ]; then
		echo "--- last lines of the server log:" >&2
		tail -n 20 "$T/server.log" >&2
	fi
	if [ -n "$SRV_PID" ]; then
		kill "$SRV_PID" 2>/dev/null || true
		wait "$SRV_PID" 2>/dev/null || true
	fi
	rm -rf "$T"
}
trap cleanup EXIT

export RELAIS_PASSPHRASE="correct horse battery staple"
export RELAIS_KDF=min
unset RELAIS_STORE RELAIS_SERVER_STORE RELAIS_SERVER_PASSPHRASE RELAIS_NEW_PASSPHRASE || true
export HOME="$T/home" XDG_DATA_HOME="$T/home/.local/share"

# ---- Chromium for the HTML check ----
CHROMIUM="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$CHROMIUM" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	echo "installing chromium (Debian package) for the HTML report check..."
	{ DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium ||
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; }; } \
		>"$T/apt.log" 2>&1 || true
	CHROMIUM="$(command -v chromium || true)"
fi
if [ -z "$CHROMIUM" ]; then
	echo "SKIP (HTML in Chromium only): chromium is not installed and cannot be installed here" \
	     "(needs root and the Debian package 'chromium'); the other checks still run"
fi

# ---- the server ----
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
URL="tcp://127.0.0.1:$PORT"
SRV="$T/server"
"$SERVER" --store "$SRV" init >/dev/null
"$SERVER" --store "$SRV" run --listen "$URL" >"$T/server.log" 2>&1 &
SRV_PID=$!
python3 - "$PORT" <<'PY'
import socket, sys, time
deadline = time.time() + 10
while True:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("FAIL [test_report]: the server does not listen")
        time.sleep(0.05)
PY

export RELAIS SERVER SRV URL T CHROMIUM
python3 - <<'PY'
import csv, datetime, io, json, os, random, re, statistics, struct, subprocess, sys, zlib
from collections import Counter

RELAIS, SERVER, SRV, URL, T = (os.environ[k] for k in ("RELAIS", "SERVER", "SRV", "URL", "T"))
CHROMIUM = os.environ.get("CHROMIUM", "")
CHECKS = 0


def fail(msg):
    print(f"FAIL [test_report]: {msg}", file=sys.stderr)
    sys.exit(1)


def ok():
    global CHECKS
    CHECKS += 1


def run(args, expect=0, timeout=60):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if expect is not None and p.returncode != expect:
        fail(f"{' '.join(args)} exited {p.returncode} (expected {expect}): {p.stderr.strip()}")
    return p


def relais(dev, *args):
    return run([RELAIS, "--store", f"{T}/{dev}", *args]).stdout.strip()


def server(*args, expect=0):
    return run([SERVER, "--store", SRV, *args], expect=expect)


# ---- devices ----
DEVICES = {"a": ("A", "antenna"), "a_mob": ("A", "mobile"), "b": ("B", "antenna"),
           "c": ("C", "antenna"), "d": ("D", "antenna"), "hq": ("HQ", "hq")}
for dev, (ant, role) in DEVICES.items():
    relais(dev, "init", "--antenna", ant, "--role", role)
    token = server("enroll", "--antenna", ant, "--role", role, "--name", dev).stdout.strip().splitlines()[-1]
    relais(dev, "enroll", "--server", URL, "--token", token)
ENROLLED = sorted({ant for ant, role in DEVICES.values() if role in ("antenna", "mobile")})

# ---- the ledger: what the test wrote, as it should stand at the end ----
SITS = {}


def d(s):
    return datetime.date.fromisoformat(s)


def new(dev, kind, opened, problems=(), referrers=(), antenna=None):
    args = ["new", "--kind", kind, "--date", opened]
    for p in problems:
        args += ["--problem", p]
    for r in referrers:
        args += ["--referrer", r]
    if antenna:
        args += ["--antenna", antenna]
    sid = relais(dev, *args)
    if not re.fullmatch(r"[0-9a-f]{32}", sid):
        fail(f"new printed {sid!r}")
    SITS[sid] = {"antenna": antenna or DEVICES[dev][0], "kind": kind, "opened": opened,
                 "problems": set(problems), "referrers": set(referrers), "status": "open",
                 "reason": "", "journal": [], "alerts": [], "erased": False}
    return sid


def log(dev, sid, jtype, date, text="entrée", amends=None):
    args = ["log", sid, "--type", jtype, "--date", date]
    if amends:
        args += ["--amends", amends]
    eid = relais(dev, *args, text)
    SITS[sid]["journal"].append({"type": jtype, "date": date, "amends": amends is not None})
    return eid


def alert(dev, sid, due, done=False):
    aid = relais(dev, "alert", sid, "--due", due, "rappel de suivi")
    SITS[sid]["alerts"].append({"due": due, "done": done})
    if done:
        relais(dev, "alert-done", sid, aid)
    return aid


def close(dev, sid, reason=None, date="2025-10-01"):
    args = ["close", sid, "--date", date]
    if reason:
        args += ["--reason", reason]
    relais(dev, *args)
    SITS[sid]["status"] = "closed"
    SITS[sid]["reason"] = reason or ""


def sync(*devs):
    for dev in devs:
        relais(dev, "sync")


PROBLEMS = ["acces_soins_psy", "logement", "soins_somatiques", "precarite", "justice", "addiction"]
P_PROB = [0.7, 0.55, 0.3, 0.25, 0.2, 0.15]
REFERRERS = ["CCAS", "CMP Aix", "Hôpital Montperrin, psychiatrie", "Médecin traitant",
             'Association "Le Relais" & co', "<b>SIAO</b>", "Famille"]
REASONS = ["relais CMP", "orientation effectuée", "déménagement, hors territoire", None]
JTYPES = ["vad", "vad", "appel", "reunion", "note", "orientation"]

rng = random.Random(20250510)
creators = ["a"] * 10 + ["a_mob"] * 4 + ["b"] * 10 + ["c"] * 6 + ["hq"] * 6
start, span = d("2024-11-01"), (d("2025-09-30") - d("2024-11-01")).days
for i, dev in enumerate(creators):
    opened = start + datetime.timedelta(days=rng.randrange(span + 1))
    kind = "coordination" if rng.random() < 0.65 else "orientation"
    probs = [p for p, q in zip(PROBLEMS, P_PROB) if rng.random() < q]
    if rng.random() < 0.1:
        probs.append("isolement")
    refs = rng.sample(REFERRERS, rng.randrange(3))
    antenna = rng.choice(["B", "C"]) if dev == "hq" else None
    sid = new(dev, kind, opened.isoformat(), probs, refs, antenna)
    for _ in range(rng.randrange(4)):
        when = opened + datetime.timedelta(days=rng.randrange(-3, 81))
        log(dev, sid, rng.choice(JTYPES), when.isoformat())
    for _ in range(rng.randrange(3)):
        due = rng.choice(["2024-12-15", "2025-03-01", "2025-08-20", "2099-06-30", "2099-12-31"])
        alert(dev, sid, due, done=rng.random() < 0.3)
    if rng.random() < 0.3:
        close(dev, sid, rng.choice(REASONS))

# Cases the random part may miss.
e_moved = new("a", "coordination", "2025-04-20", ["logement"], ["CCAS"])
log("a", e_moved, "vad", "2025-05-02")
e_erased = new("b", "orientation", "2025-05-06", ["justice"], ["CCAS"])
log("b", e_erased, "vad", "2025-05-07")
alert("b", e_erased, "2025-01-10")
e_amended = new("a_mob", "coordination", "2025-05-03", ["acces_soins_psy"])
entry = log("a_mob", e_amended, "vad", "2025-05-10")
log("a_mob", e_amended, "vad", "2025-05-11", "correction : visite le 11", amends=entry)
e_tagged = new("c", "orientation", "2025-06-12", ["logement", "precarite"])
relais("c", "tag", e_tagged, "-precarite", "+isolement", "+referrer:SIAO")
SITS[e_tagged]["problems"] = {"logement", "isolement"}
SITS[e_tagged]["referrers"] = {"SIAO"}
e_reopened = new("a", "coordination", "2025-03-15", ["addiction"])
close("a", e_reopened, "relais CMP")
relais("a", "reopen", e_reopened)
SITS[e_reopened]["status"], SITS[e_reopened]["reason"] = "open", ""
e_early = new("hq", "coordination", "2025-07-01", ["soins_somatiques"], antenna="C")
log("hq", e_early, "appel", "2025-06-25")  # before the opening: a delay of 0
e_noreason = new("b", "orientation", "2025-08-08", ["precarite"])
log("b", e_noreason, "reunion", "2025-08-20")
close("b", e_noreason)

sync(*DEVICES)
# Reassignment: A hands a situation to B, B goes on with it.
relais("a", "assign", e_moved, "B")
SITS[e_moved]["antenna"] = "B"
sync("a", "b")
log("b", e_moved, "vad", "2025-06-05")
# Erasure: gone from every figure, whatever it held.
relais("b", "erase", e_erased, "--confirm")
SITS[e_erased]["erased"] = True
sync("b")
sync(*DEVICES)

# The devices hold what they should (a sanity check of the data set).
live = {s for s, v in SITS.items() if not v["erased"]}
held = {x["id"] for x in json.loads(relais("hq", "list", "--json"))}
if held != live:
    fail(f"the hq device holds {len(held)} situations, expected {len(live)}")
ok()
held_b = {x["id"] for x in json.loads(relais("b", "list", "--json"))}
if e_moved not in held_b or e_erased in held_b:
    fail("device b: the reassigned situation is missing or the erased one is still there")
ok()
if e_moved in {x["id"] for x in json.loads(relais("a", "list", "--json"))}:
    fail("device a still holds the situation reassigned to B")
ok()


# ---- the figures, computed from the ledger ----
def months(lo, hi):
    y, m = map(int, lo.split("-"))
    out = []
    while f"{y:04d}-{m:02d}" <= hi:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def expected(frm=None, to=None, antenna=None):
    today = datetime.date.today().isoformat()

    def in_period(day):
        ym = day[:7]
        return (frm is None or ym >= frm) and (to is None or ym <= to)

    scope = [s for s in SITS.values() if not s["erased"] and (antenna is None or s["antenna"] == antenna)]
    counted = [s for s in scope if in_period(s["opened"])]
    by_problem = {p: 0 for p in PROBLEMS}
    by_problem.update(Counter(p for s in counted for p in s["problems"]))
    by_kind = {"coordination": 0, "orientation": 0}
    by_kind.update(Counter(s["kind"] for s in counted))
    if antenna:
        by_antenna = {antenna: len(counted)}
    else:
        by_antenna = {a: 0 for a in ENROLLED}
        by_antenna.update(Counter(s["antenna"] for s in counted))
    opened_months = sorted(s["opened"][:7] for s in counted)
    if opened_months or (frm and to):
        lo = frm or opened_months[0]
        hi = to or opened_months[-1]
        by_month = {m: 0 for m in months(lo, hi)}
    else:
        by_month = {}
    by_month.update(Counter(opened_months))
    closed = [s for s in counted if s["status"] == "closed"]
    delays = []
    for s in counted:
        dates = [j["date"] for j in s["journal"] if not j["amends"]]
        if dates:
            delays.append(max(0, (d(min(dates)) - d(s["opened"])).days))
    return {
        "from": frm, "to": to, "antenna": antenna,
        "situations": len(counted),
        "by_kind": by_kind,
        "by_problem": by_problem,
        "by_antenna": by_antenna,
        "by_referrer": dict(Counter(r for s in counted for r in s["referrers"])),
        "by_month": by_month,
        "closed": len(closed),
        "closed_reasons": dict(Counter(s["reason"] for s in closed if s["reason"])),
        "closed_without_reason": sum(1 for s in closed if not s["reason"]),
        "open": len(counted) - len(closed),
        "home_visits": sum(1 for s in scope for j in s["journal"]
                           if j["type"] == "vad" and not j["amends"] and in_period(j["date"])),
        "alerts_overdue": sum(1 for s in scope for a in s["alerts"] if not a["done"] and a["due"] < today),
        "median_days_to_first_intervention": statistics.median(delays) if delays else None,
        "situations_with_intervention": len(delays),
        "undated": 0,
    }


def report_args(frm, to, antenna):
    args = []
    if frm:
        args += ["--from", frm]
    if to:
        args += ["--to", to]
    if antenna:
        args += ["--antenna", antenna]
    return args


SCOPES = [(None, None, None), (None, None, "B"), ("2025-03", "2025-06", None), ("2025-04", "2025-08", "A")]
reports = {}
for scope in SCOPES:
    what = f"report {' '.join(report_args(*scope)) or '(whole network)'}"
    got = json.loads(server("report", "--format", "json", *report_args(*scope)).stdout)
    want = expected(*scope)
    for key, value in want.items():
        if key not in got:
            fail(f"{what}: key {key} missing")
        g = got[key]
        if key == "median_days_to_first_intervention" and g is not None and value is not None:
            same = abs(g - value) < 1e-9
        else:
            same = g == value
        if not same:
            fail(f"{what}: {key} is {json.dumps(g, ensure_ascii=False)}, expected {json.dumps(value, ensure_ascii=False)}")
        ok()
    if got["generated"] != datetime.date.today().isoformat():
        fail(f"{what}: generated {got['generated']}")
    reports[scope] = got
net = reports[(None, None, None)]
# The data set exercises what it should.
if not (net["situations"] >= 35 and net["home_visits"] > 5 and net["alerts_overdue"] > 0 and net["closed"] > 3
        and reports[(None, None, "B")]["situations"] > 0 and reports[("2025-03", "2025-06", None)]["situations"] > 0
        and net["by_antenna"]["D"] == 0 and net["by_problem"].get("isolement", 0) > 0):
    fail(f"the data set does not cover the cases: {net}")
ok()

# -o writes the same document, atomically (nothing left beside it).
os.makedirs(f"{T}/out")
server("report", "--format", "json", "-o", f"{T}/out/report.json")
if json.load(open(f"{T}/out/report.json")) != net or os.listdir(f"{T}/out") != ["report.json"]:
    fail("report -o: the file differs from stdout, or a temporary file was left")
ok()

# ---- csv: the same figures as the JSON ----
for scope in [(None, None, None), ("2025-03", "2025-06", None)]:
    text = server("report", "--format", "csv", *report_args(*scope)).stdout
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if rows[0] != ["figure", "key", "value"] or any(len(r) != 3 for r in rows):
        fail(f"csv: bad header or row shape: {rows[:3]}")
    got = reports[scope]
    seen = {}
    for fig, key, value in rows[1:]:
        if key == "":
            seen[fig] = value
        else:
            seen.setdefault(fig, {})[key] = int(value)
    for key, value in got.items():
        if isinstance(value, dict):
            want = value
        elif value is None:
            want = ""
        else:
            want = str(value)
        if seen.get(key, {} if isinstance(value, dict) else None) != want:
            fail(f"csv {scope}: {key} is {seen.get(key)!r}, JSON says {want!r}")
        ok()

# ---- text: what a manager reads ----
text = server("report").stdout
def line(label, value):
    global CHECKS
    if not re.search(r"^ +" + re.escape(label) + r" +" + re.escape(str(value)) + r"\b", text, re.M):
        fail(f"text report: no line '{label} ... {value}' in:\n{text}")
    ok()
line("Situations ouvertes", net["situations"])
line("dont coordinations", net["by_kind"]["coordination"])
line("dont orientations", net["by_kind"]["orientation"])
line("Situations clôturées", net["closed"])
line("Visites à domicile dans la période", net["home_visits"])
line(f"Alertes en retard au {net['generated']}", net["alerts_overdue"])
line("Logement", net["by_problem"]["logement"])
line("Accès aux soins psychiatriques", net["by_problem"]["acces_soins_psy"])
for ant, n in net["by_antenna"].items():
    line(ant, n)
period_text = server("report", "--from", "2025-03", "--to", "2025-06", "--antenna", "B").stdout
if "de mars 2025 à juin 2025" not in period_text or "antenne B" not in period_text:
    fail(f"text report: period or scope not stated:\n{period_text}")
ok()

# ---- bad arguments ----
for args, code, pattern in [
    (["--from", "2025-13"], 1, "--from"), (["--to", "2025-1"], 1, "--to"),
    (["--from", "mai"], 1, "--from"), (["--from", "2025-09", "--to", "2025-05"], 1, "après"),
    (["--format", "pdf"], 2, "format"), (["--antenna", "pas un code"], 1, "antenne"),
]:
    p = server("report", *args, expect=code)
    err = p.stderr.strip()
    if not err.startswith("relais-server:") or "\n" in err or pattern not in err or p.stdout:
        fail(f"report {' '.join(args)}: expected one French line on stderr, got {err!r} (stdout {p.stdout[:80]!r})")
    ok()
server("report", "-o", f"{T}/nowhere/r.txt", expect=1)
ok()

# ---- html ----
html_path = f"{T}/report.html"
server("report", "--format", "html", "-o", html_path)
html = open(html_path, encoding="utf-8").read()
for bad in ("src=", "href=", "url(", "@import", "<script", "<link", "http://", "https://"):
    if bad in html:
        fail(f"html report: refers to something outside itself ({bad})")
    ok()
if "<b>SIAO</b>" in html or "&lt;b&gt;SIAO&lt;/b&gt;" not in html:
    fail("html report: a referrer is not escaped")
ok()


def check_dom(dom):
    svgs = re.findall(r"<svg\b[^>]*\bid=\"([^\"]+)\"", dom)
    if sorted(svgs) != ["chart-antennas", "chart-months", "chart-problems"]:
        fail(f"DOM: expected the three charts, found {svgs}")
    ok()
    bars = len(re.findall(r"<rect\b[^>]*class=\"bar\"", dom))
    want = len(net["by_antenna"]) + len(net["by_month"]) + len(net["by_problem"])
    if bars != want:
        fail(f"DOM: {bars} bars, expected {want}")
    ok()
    for fig in ("situations", "closed", "home_visits", "alerts_overdue"):
        if not re.search(r'data-figure="%s"[^>]*>%d<' % (fig, net[fig]), dom):
            fail(f"DOM: figure {fig} = {net[fig]} not shown")
        ok()
    med = net["median_days_to_first_intervention"]
    med_text = "-" if med is None else (str(int(med)) if med == int(med) else f"{int(med)},5")
    if f'data-figure="median_days_to_first_intervention">{med_text}<' not in dom:
        fail(f"DOM: median {med_text} not shown")
    ok()
    for table in ("by_antenna", "by_month", "by_problem", "by_referrer"):
        for key, n in net[table].items():
            k = key.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
            if not re.search(r'<tr data-key="%s"><td>[^<]*</td><td class="num">%d</td>' % (re.escape(k), n), dom):
                fail(f"DOM: {table} row {key} = {n} not found")
            ok()
    if "<b>SIAO</b>" in dom:
        fail("DOM: markup from the data was interpreted")
    ok()


def png_pixels(path):
    """Decodes an 8-bit non-interlaced RGB/RGBA PNG: (width, height, rows)."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail("screenshot is not a PNG")
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        return w, h, None
    bpp = 3 if ctype == 2 else 4
    raw, stride, prev, rows = zlib.decompress(idat), w * bpp, bytearray(w * bpp), []
    for y in range(h):
        f, line_ = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line_[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if f == 1: line_[i] = (line_[i] + a) & 255
            elif f == 2: line_[i] = (line_[i] + b) & 255
            elif f == 3: line_[i] = (line_[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line_[i] = (line_[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line_[k:k + 3]) for k in range(0, stride, bpp)])
        prev = line_
    return w, h, rows


if CHROMIUM:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage"]
    png = f"{T}/report.png"
    run([CHROMIUM, *flags, f"--user-data-dir={T}/chrome1", f"--screenshot={png}",
         "--window-size=1200,2000", f"file://{html_path}"], timeout=90)
    if not os.path.exists(png) or os.path.getsize(png) < 20000:
        fail(f"chromium made no real screenshot ({os.path.getsize(png) if os.path.exists(png) else 0} bytes)")
    ok()
    w, h, rows = png_pixels(png)
    if (w, h) != (1200, 2000):
        fail(f"screenshot is {w}x{h}")
    ok()
    if rows is not None:
        # Bars are #2b6cb0; the page must show a good number of them.
        blue = sum(1 for r in rows for (R, G, B) in r if abs(R - 0x2b) < 12 and abs(G - 0x6c) < 12 and abs(B - 0xb0) < 12)
        if blue < 20000:
            fail(f"screenshot: only {blue} bar-coloured pixels")
        ok()
    dom = run([CHROMIUM, *flags, f"--user-data-dir={T}/chrome2", "--dump-dom", f"file://{html_path}"],
              timeout=90).stdout
    if "</html>" not in dom:
        fail("chromium --dump-dom printed no document")
    check_dom(dom)
else:
    check_dom(html)  # the same checks on the file itself

if os.environ.get("RL_TEST_KEEP"):  # where to copy the reports, for a look
    import shutil
    keep = os.environ["RL_TEST_KEEP"]
    os.makedirs(keep, exist_ok=True)
    for name in ("report.html", "report.png"):
        if os.path.exists(f"{T}/{name}"):
            shutil.copy(f"{T}/{name}", keep)
    open(f"{keep}/report.txt", "w").write(text)
    open(f"{keep}/report.csv", "w").write(server("report", "--format", "csv").stdout)
    open(f"{keep}/report.json", "w").write(json.dumps(net, ensure_ascii=False, indent=2))

print(f"ok: test_report ({CHECKS} checks, {len(SITS)} situations"
      f"{', HTML checked in ' + os.path.basename(CHROMIUM) if CHROMIUM else ', no Chromium'})")
PY
