"""A SeaTunnel home for an emulated node, so that the node agent supervising the emulator has one to report
(docs/AGENT_PROTOCOL.md, "Heartbeat": the jars of connectors/ and lib/). The layout of the bin tarball
(ZETA_FACTS §4.2: bin, config, connectors, lib, logs, starter) with **empty files named like the real jars**:
the agent reads names, never contents, and the emulator runs nothing from them.

``lay_out_home`` creates only what is missing and never deletes: a jar dropped into the home by hand (the MySQL
driver into lib/, say) stays, and its node shows it once its agent's next heartbeat has gone out.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from controlplane.seatunnel.catalog import DATA_DIR, catalog_for
from controlplane.seatunnel.config.errors import JobCatalogVersionUnknown

# What the bin tarball ships in connectors/ (its assembly-bin.xml): the demo connectors and the transforms.
BIN_CONNECTORS = ("connector-fake", "connector-console", "seatunnel-transforms-v2")
# ... plus the JDBC connector, as `install-plugin.sh` adds it from config/plugin_config. Its drivers are not
# SeaTunnel's to ship: they go to lib/, and here there is none (the demo's job fails for want of it).
WITH_JDBC = (*BIN_CONNECTORS, "connector-jdbc")
SUBDIRECTORIES = ("bin", "config", "connectors", "lib", "logs", "starter")


def lib_jars(version: str) -> tuple[str, ...]:
    """lib/ of the bin tarball: the Hadoop uber jar, named as Maven names its `optional` classifier."""
    return (f"seatunnel-hadoop3-3.1.4-uber-{version}-optional.jar",)


def lay_out_home(
    root: Path, version: str, *, connectors: Iterable[str] = BIN_CONNECTORS, lib: Iterable[str] | None = None
) -> Path:
    """The home at ``root``: ``connectors/<artifact>-<version>.jar`` for each artifact, ``lib/`` with ``lib``
    (default: the bin tarball's), the starter jar, and connectors/plugin-mapping.properties from the control
    plane's catalog of that version when it has one. Returns ``root``."""
    for sub in SUBDIRECTORIES:
        (root / sub).mkdir(parents=True, exist_ok=True)
    files = [root / "connectors" / f"{artifact}-{version}.jar" for artifact in connectors]
    files += [root / "lib" / name for name in (lib_jars(version) if lib is None else lib)]
    files.append(root / "starter" / "seatunnel-starter.jar")
    for path in files:
        if not path.exists():
            path.touch()
    mapping = root / "connectors" / "plugin-mapping.properties"
    if not mapping.exists():
        try:
            source = DATA_DIR / f"{catalog_for(version).version}.properties"
        except JobCatalogVersionUnknown:
            return root  # no catalog for this version: the engine's own file is not invented
        mapping.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    return root
