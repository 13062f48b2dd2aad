# Sourced by scripts/setup and scripts/setup-tests: Debian packages, checked
# and (as root) installed. Packages are installed with services kept from
# starting (policy-rc.d answers 101, "action forbidden", to invoke-rc.d and
# deb-systemd-invoke): a package that ships a daemon must not leave one
# running on the host.
#
# Reference: Debian policy, /usr/share/doc/init-system-helpers/README.policy-rc.d.

# missing_packages PACKAGE...: prints those not installed, one a line (one dpkg-query for all of them).
missing_packages() {
  local p installed
  installed=" $(dpkg-query -W -f='${Package}:${db:Status-Abbrev} ' "$@" 2>/dev/null || true) "
  for p in "$@"; do
    [[ $installed == *" $p:ii "* ]] || echo "$p"
  done
}

# install_missing WHO SELF PACKAGE...: as root, installs what is missing; as a user, names it and exits 2.
install_missing() {
  local who=$1 self=$2
  shift 2
  local missing
  mapfile -t missing < <(missing_packages "$@")
  local lists=yes
  ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1 || lists=no
  if [ ${#missing[@]} -eq 0 ] && [ "$lists" = yes ]; then return 0; fi
  if [ "$(id -u)" -ne 0 ]; then
    if [ ${#missing[@]} -gt 0 ]; then
      echo "$who: missing Debian packages: ${missing[*]}; fix (as root): apt-get install --no-install-recommends ${missing[*]} (or: sudo $self)" >&2
    else
      echo "$who: apt has no package lists (boot images come from apt-get download); fix (as root): apt-get update" >&2
    fi
    exit 2
  fi
  echo "$who: apt-get update${missing[*]:+, then install ${missing[*]}}" >&2
  apt-get update -qq
  if [ ${#missing[@]} -gt 0 ]; then
    without_service_starts env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# without_service_starts COMMAND...: runs it with a policy-rc.d that forbids starting services
# (unless the host has one of its own already).
without_service_starts() {
  local policy=/usr/sbin/policy-rc.d
  if [ -e "$policy" ]; then "$@"; return; fi
  printf '#!/bin/sh\n# pxe-hil setup: no service starts while packages are installed\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  local status=0
  "$@" || status=$?
  rm -f "$policy"
  return "$status"
}
