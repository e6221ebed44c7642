#!/usr/bin/env bash
# Put the SeaTunnel control plane's node agent on a bare node and start it (docs/INSTALLER.md, "Through the
# control plane"). Only this: a Python 3.11+ virtualenv with the agent package (which carries the installer core),
# then a systemd unit when systemd runs the node, else the agent in the foreground. Everything else (installing
# SeaTunnel, its config, its service) is the agent's installer actions, asked for by the control plane.
#
#   deploy/bootstrap.sh --from SOURCE [--prefix DIR] [--config FILE] [--server URL]
#                       [--bootstrap-token-file FILE] [--python PYTHON] [--systemd|--foreground|--no-start]
#                       [-- AGENT ARGS...]
#
#   --from SOURCE   the agent package: a wheel file, an http(s) URL of one, or a directory holding agent/pyproject.toml
#                   (a checkout of this repository, or its agent/ directory)
#   --prefix DIR    where the virtualenv goes (default /opt/seatunnel-agent; the venv is DIR/venv)
#   --config FILE   the agent's TOML config (docs/AGENT.md; deploy/agent/agent.example.toml); checked before start
#   --server URL, --bootstrap-token-file FILE   passed to the agent (first start registers with the token)
#   --python PY     the interpreter to build the venv with (default: the first of python3.13, python3.12,
#                   python3.11, python3 that is 3.11 or newer)
#   --systemd       install and start a unit (the default when systemd runs this node and we are root)
#   --foreground    run the agent in the foreground (the default otherwise); args after `--` go to the agent
#   --no-start      only make the virtualenv
#
# Exit codes: 0 done (or, in the foreground, the agent's own exit code), 2 bad usage, 3 no Python 3.11+,
# 4 the package could not be installed, 5 the config was refused.
set -euo pipefail

SOURCE=""
PREFIX="/opt/seatunnel-agent"
CONFIG=""
SERVER=""
TOKEN_FILE=""
PYTHON=""
MODE=""
UNIT_PATH="${SEATUNNEL_AGENT_UNIT_PATH:-/etc/systemd/system/seatunnel-agent.service}"

usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "bootstrap: $2" >&2; exit "$1"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --from) SOURCE="${2:?}"; shift 2 ;;
        --prefix) PREFIX="${2:?}"; shift 2 ;;
        --config) CONFIG="${2:?}"; shift 2 ;;
        --server) SERVER="${2:?}"; shift 2 ;;
        --bootstrap-token-file) TOKEN_FILE="${2:?}"; shift 2 ;;
        --python) PYTHON="${2:?}"; shift 2 ;;
        --systemd) MODE="systemd"; shift ;;
        --foreground) MODE="foreground"; shift ;;
        --no-start) MODE="none"; shift ;;
        -h|--help) usage ;;
        --) shift; break ;;
        *) echo "bootstrap: unknown argument $1" >&2; usage ;;
    esac
done
[ -n "$SOURCE" ] || die 2 "--from is required (a wheel, a URL of one, or a directory with agent/pyproject.toml)"

fits() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1; }
if [ -z "$PYTHON" ]; then
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 && fits "$candidate"; then PYTHON="$(command -v "$candidate")"; break; fi
    done
    [ -n "$PYTHON" ] || die 3 "no Python 3.11 or newer on PATH: install one (e.g. apt-get install python3.11-venv) or pass --python"
elif ! fits "$PYTHON"; then
    die 3 "$PYTHON is not Python 3.11 or newer"
fi

# What pip installs: a wheel or URL as given; a checkout's agent/ directory (its pyproject.toml takes the installer
# core from ../installer).
PACKAGE="$SOURCE"
if [ -d "$SOURCE" ]; then
    if [ -f "$SOURCE/agent/pyproject.toml" ]; then PACKAGE="$SOURCE/agent"
    elif [ -f "$SOURCE/pyproject.toml" ]; then PACKAGE="$SOURCE"
    else die 2 "$SOURCE holds neither agent/pyproject.toml nor pyproject.toml"; fi
    PACKAGE="$(cd "$PACKAGE" && pwd)"
fi

VENV="$PREFIX/venv"
mkdir -p "$PREFIX"
"$PYTHON" -m venv "$VENV" || die 4 "could not create a virtualenv under $VENV (is the venv module installed?)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "$PACKAGE" \
    || die 4 "pip could not install $SOURCE"
# -P: the venv's agent, never an agent/ directory in the current one (a checkout the script was run from)
AGENT=("$VENV/bin/python" -P -m agent)
"${AGENT[@]}" --version >/dev/null || die 4 "the agent does not run from $VENV"
echo "bootstrap: $("${AGENT[@]}" --version) in $VENV" >&2

[ -n "$CONFIG" ] && AGENT+=(--config "$CONFIG")
[ -n "$SERVER" ] && AGENT+=(--server "$SERVER")
[ -n "$TOKEN_FILE" ] && AGENT+=(--bootstrap-token-file "$TOKEN_FILE")
if [ -n "$CONFIG" ]; then
    "${AGENT[@]}" --check-config >/dev/null || die 5 "the agent refused its config $CONFIG"
fi

if [ -z "$MODE" ]; then
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        MODE="systemd"
    else
        MODE="foreground"
    fi
fi

case "$MODE" in
    none)
        exit 0 ;;
    systemd)
        exec_start="${AGENT[*]}"
        cat >"$UNIT_PATH" <<EOF
# Written by deploy/bootstrap.sh; see deploy/agent/seatunnel-agent.service for the reference unit.
[Unit]
Description=SeaTunnel control plane agent
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=$exec_start
Restart=on-failure
RestartSec=5
RestartPreventExitStatus=2 3
StateDirectory=seatunnel-agent
StateDirectoryMode=0700

[Install]
WantedBy=multi-user.target
EOF
        systemctl daemon-reload
        systemctl enable --now seatunnel-agent.service
        echo "bootstrap: seatunnel-agent.service enabled and started ($UNIT_PATH)" >&2 ;;
    foreground)
        exec "${AGENT[@]}" "$@" ;;
esac
