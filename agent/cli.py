"""`python -m agent --server URL --bootstrap-token T [--config FILE] [--state-dir DIR]` (docs/AGENT.md).

Exit codes: 0 stopped by a signal; 2 bad usage or config (one line on stderr); 3 the control plane
refused the agent (a bad bootstrap token, a revoked or unknown credential); 1 anything else.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from agent import __version__, config, daemon, managers
from agent.state import Credential, StateDir, StateError

TOKEN_ENV = "SEATUNNEL_AGENT_BOOTSTRAP_TOKEN"  # noqa: S105 - the variable name, not a token


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m agent",
        description="The SeaTunnel control plane's node agent: registers once, heartbeats, runs signed actions.",
    )
    parser.add_argument("--server", help="the control plane's base URL (overrides `server` in the config file)")
    parser.add_argument(
        "--bootstrap-token",
        help=f"the one-time registration token (or set {TOKEN_ENV}); not needed once credential.json exists",
    )
    parser.add_argument(
        "--bootstrap-token-file",
        help="read the registration token from this file, waiting until it appears (not needed once registered)",
    )
    parser.add_argument("--config", help="the agent's TOML config file (docs/AGENT.md)")
    parser.add_argument("--state-dir", help="where the credential, seen ids and outbox live (overrides state_dir)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--check-config", action="store_true", help="check the config file and exit")
    parser.add_argument("--version", action="version", version=f"seatunnel-agent {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(threadName)s %(message)s"
    )
    # httpx logs each request at INFO; its transport's connection chatter is too much even for DEBUG.
    logging.getLogger("httpcore").setLevel(logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING if args.log_level != "DEBUG" else logging.INFO)

    def usage(message: str) -> int:
        print(f"agent: {message}", file=sys.stderr)
        return 2

    try:
        cfg = config.load(args.config)
        if args.server:
            cfg = dataclasses.replace(cfg, server=config.check_server(args.server))
        if args.state_dir:
            cfg = dataclasses.replace(cfg, state_dir=Path(args.state_dir).expanduser())
    except config.ConfigError as error:
        return usage(f"config error: {error}")
    if args.check_config:
        print("config ok")
        return 0

    state = StateDir(cfg.state_dir)
    try:
        state.prepare()
        credential = state.load_credential()
    except StateError as error:
        return usage(str(error))

    stop = threading.Event()
    agent_box: list[daemon.Agent] = []

    def on_signal(signum: int, frame: object) -> None:
        stop.set()
        for agent in agent_box:
            agent.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    # A service bound to the agent (`with_agent`) comes up first: it must not wait for the control plane.
    service = managers.build(cfg.service, cfg, role="service") if cfg.service else None
    if service is None or not service.with_agent:
        return _serve(args, cfg, state, credential, stop, agent_box, usage)
    _start_with_agent(service, stop)
    try:
        return _serve(args, cfg, state, credential, stop, agent_box, usage)
    finally:
        _stop_with_agent(service)


def _serve(
    args: argparse.Namespace,
    cfg: config.AgentConfig,
    state: StateDir,
    credential: Credential | None,
    stop: threading.Event,
    agent_box: list[daemon.Agent],
    usage: Callable[[str], int],
) -> int:
    if credential is None:
        token = args.bootstrap_token or os.environ.get(TOKEN_ENV)
        if not cfg.server:
            return usage("no server: pass --server or set `server` in the config file")
        if not token and args.bootstrap_token_file:
            token = _wait_for_token_file(Path(args.bootstrap_token_file), stop)
            if token is None:
                return 0  # stopped while waiting
        if not token:
            return usage(f"not registered yet and no bootstrap token: pass --bootstrap-token or set {TOKEN_ENV}")
        try:
            credential = daemon.register(cfg, state, cfg.server, token, stop)
        except daemon.Refused as error:
            print(f"agent: {error}", file=sys.stderr)
            return daemon.EXIT_REFUSED
    elif cfg.server and cfg.server != credential.server:
        return usage(
            f"{state.credential_path} belongs to {credential.server}, not {cfg.server}; remove it to register anew"
        )
    if stop.is_set():
        return 0
    try:
        agent = daemon.Agent(cfg, state, credential)
    except (config.ConfigError, ValueError) as error:
        return usage(f"cannot start: {error}")
    agent_box.append(agent)
    return agent.run()


def _wait_for_token_file(path: Path, stop: threading.Event) -> str | None:
    """The token in `path` once the file exists and is not empty (whoever enrols the node may write it after
    the agent started); None when stopped first."""
    told = False
    while not stop.is_set():
        try:
            token = path.read_text().strip()
        except FileNotFoundError:
            token = ""
        except OSError as error:
            print(f"agent: cannot read {path}: {error.strerror}", file=sys.stderr)
            token = ""
        if token:
            return token
        if not told:
            logging.getLogger("agent").info("not registered yet: waiting for a bootstrap token in %s", path)
            told = True
        stop.wait(0.5)
    return None


def _start_with_agent(service: managers.ServiceManager, stop: threading.Event) -> None:
    log = logging.getLogger("agent")
    try:
        answer = service.start(float(getattr(service, "ready_timeout", 60)), cancel=stop)
    except managers.ManagerError as error:
        # The agent still runs: its heartbeats report the service failed and service.start can be retried.
        log.error("the service did not start with the agent: %s", error)
        return
    log.info("service started with the agent: %s", answer.get("status"))


def _stop_with_agent(service: managers.ServiceManager) -> None:
    log = logging.getLogger("agent")
    try:
        answer = service.stop(float(getattr(service, "stop_timeout", 30)))
    except managers.ManagerError as error:
        log.error("the service did not stop with the agent: %s", error)
        return
    log.info("service stopped with the agent (%s)", answer.get("stopped_with", "it was not running"))
