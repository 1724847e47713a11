#!/usr/bin/env bash
# limit: 400
# test_build.sh - the build a packager and a newcomer rely on.
#
# - The targets that may install packages run deps first and then make
#   again (so pkg-config is read once the packages are there): `make -n`
#   of each shows the deps step, then the same target with RL_DEPS_CHECKED.
# - `make install` needs neither apt nor the test tools: its dry run has no
#   deps step, and it installs into a DESTDIR.
# - Debian's hardening flags (dpkg-buildflags, hardening=+all) reach every
#   compile and link: both programs, built in a scratch BUILD with them, are
#   PIE, full RELRO with BIND_NOW, stack-protected and fortified.
source "$(dirname "$0")/sync_lib.sh"

cd "$ROOT"
# A make of its own, not the one running this test (make test passes
# RL_DEPS_CHECKED and, under make asan, CFLAGS, in MAKEFLAGS and the
# environment).
unset MAKEFLAGS MAKELEVEL MFLAGS RL_DEPS_CHECKED CFLAGS CPPFLAGS LDFLAGS
for target in all test demo bench asan soak; do
	make -n "$target" >"$T/dry.$target" 2>&1 || fail "make -n $target: $(cat "$T/dry.$target")"
	out="$(head -n 3 "$T/dry.$target")"
	want=deps-test
	[ "$target" = demo ] && want=deps
	assert_match "$(sed -n 1p <<<"$out")" "make .*--no-print-directory $want\$" "make $target: $want first"
	assert_match "$(sed -n 3p <<<"$out")" "make .*RL_DEPS_CHECKED=1 $target\$" "make $target: then make again"
done
out="$(make -n install DESTDIR="$T/dest" 2>&1)"
assert_no_match "$out" "install-deps\.sh|deps-test" "make install never runs apt"

command -v dpkg-buildflags >/dev/null || fail "dpkg-buildflags missing (dpkg-dev)"
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
B="$T/build-hardened"
make --no-print-directory BUILD="$B" CPPFLAGS="$(dpkg-buildflags --get CPPFLAGS)" \
	CFLAGS="$(dpkg-buildflags --get CFLAGS)" LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" \
	install DESTDIR="$T/dest" PREFIX=/usr >"$T/make.log" 2>&1 || fail "hardened build: $(tail -n 20 "$T/make.log")"
ok
assert_no_match "$(grep -E '^(cc|gcc) ' "$T/make.log" | grep -v -- '-fstack-protector-strong' || true)" . \
	"every compile and link carries the CFLAGS"
assert_no_match "$(grep -E '^(cc|gcc) .* -c ' "$T/make.log" | grep -v -- '-D_FORTIFY_SOURCE=2' || true)" . \
	"every compile carries the CPPFLAGS"
assert_no_match "$(grep -E '^(cc|gcc) .* -o [^ ]*/relais(-server)? ' "$T/make.log" | grep -v -- '-z,now' || true)" . \
	"every link carries the LDFLAGS"
for b in relais relais-server; do
	f="$T/dest/usr/bin/$b"
	[ -x "$f" ] || fail "make install did not install $b"
	dyn="$(readelf -d "$f")"
	assert_match "$dyn" "BIND_NOW" "$b: bound at load (-z now)"
	assert_match "$dyn" "FLAGS_1.*PIE" "$b: position-independent"
	assert_match "$(readelf -lW "$f")" "GNU_RELRO" "$b: RELRO"
	syms="$(nm -D "$f")"
	assert_match "$syms" "__stack_chk_fail" "$b: stack protector"
	assert_match "$syms" "_chk@" "$b: fortified calls"
done
[ -f "$T/dest/usr/lib/systemd/system/relais-sync.service" ] || fail "units not installed"
ok

# The runner bounds a test that hangs: past its limit the test fails with
# the stacks of its programs, its whole process group is killed, the suite
# goes on to the next test.
cat >"$T/test_hangs.sh" <<EOF
#!/usr/bin/env bash
# limit: 3
RELAIS_SERVER_PASSPHRASE=x RELAIS_KDF=min "$SERVER" --store "$T/hang-srv" init >/dev/null
RELAIS_SERVER_PASSPHRASE=x "$SERVER" --store "$T/hang-srv" run --listen tcp://127.0.0.1:0 \
	>"$T/hang-srv.log" 2>&1 &
echo \$! >"$T/hang.pid"
sleep 600
EOF
printf '#!/usr/bin/env bash\necho fine\n' >"$T/test_fine.sh"
set +e
out="$(TEST_SCALE=1 bash tests/run.sh -- "$T/test_hangs.sh" "$T/test_fine.sh" 2>&1)"
rc=$?
set -e
assert_eq "$rc" 1 "the runner fails the suite"
assert_match "$out" "-- TIMEOUT after 3 s" "the hung test is stopped at its limit"
assert_match "$out" "stacks of [0-9]+ \(relais-server\)" "the stacks of its server are printed"
assert_match "$out" "main \(" "with gdb's frames"
assert_match "$out" "1 passed, 1 failed" "the next test still runs"
pid="$(cat "$T/hang.pid")"
for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then fail "the hung test's server survived the runner"; fi
ok

done_ok
