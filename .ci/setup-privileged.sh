#!/usr/bin/env bash
# Run as root by .ci/run before npm ci: the unprivileged agent user, the filepush helper and the
# sudoers rules of docs/sudoers.example, as test/adapters/sudo expects them (two agents' data_dirs,
# /var/lib/rport-test and /var/lib/rport-test-b; allow root /srv/rport-test).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v sudo >/dev/null || { apt-get install -y -qq --no-install-recommends sudo >/dev/null; }
id rport >/dev/null 2>&1 || useradd --create-home --home-dir /home/rport --shell /usr/sbin/nologin rport
NODE="$(command -v node)"
install -d -o root -g root -m 0755 /usr/local/libexec/rport /etc/rport
# The helper runs as root: root-owned, and its interpreter pinned to this machine's node.
sed "1s|.*|#!${NODE}|" scripts/rport-filepush-helper.mjs > /tmp/rport-filepush-helper.mjs.$$
install -o root -g root -m 0755 /tmp/rport-filepush-helper.mjs.$$ /usr/local/libexec/rport/rport-filepush-helper.mjs
rm -f /tmp/rport-filepush-helper.mjs.$$
sed -e 's|^data_dir = .*|data_dir = /var/lib/rport-test\ndata_dir = /var/lib/rport-test-b|' -e 's|^allow = .*|allow = /srv/rport-test|' \
  scripts/rport-filepush-helper.conf.example > /tmp/filepush-helper.conf.$$
install -o root -g root -m 0644 /tmp/filepush-helper.conf.$$ /etc/rport/filepush-helper.conf
rm -f /tmp/filepush-helper.conf.$$
install -d -o rport -g rport -m 0700 /var/lib/rport-test /var/lib/rport-test-b
install -d -o root -g root -m 0755 /srv/rport-test
visudo -cf docs/sudoers.example
install -o root -g root -m 0440 docs/sudoers.example /etc/sudoers.d/rport-filepush
visudo -c >/dev/null
echo "rport user, filepush helper and /etc/sudoers.d/rport-filepush installed"
