"""Central's ABIS: the in-process gallery (embedded default) or gallery shards as Ray actors.

`abis_from_settings(settings)` picks one by `settings.abis` (env `KTPEL_ABIS`):
- `inproc` (default): `BuiltinAbis(Gallery())` in the worker process; Ray is not imported.
- `ray://local`: start `settings.abis_shards` shard actors on a local Ray instance (`ray.init`).
- `ray://auto` or `ray://HOST:PORT`: join a running Ray cluster and attach to the shards that
  `ktpel central abis` started there.
Any `Abis` (docs/biometrics.md) plugs in the same way; a commercial one would be another scheme.
"""

from __future__ import annotations

from ktpel.biometrics.abis import Abis, BuiltinAbis

INPROC = "inproc"


def is_ray(spec: str | None) -> bool:
    return bool(spec) and spec.startswith("ray://")


def ray_address(spec: str) -> str | None:
    """`ray://local` → None (start locally); `ray://auto` → "auto"; `ray://h:p` → "h:p"."""
    rest = spec[len("ray://"):].split("?")[0]
    return None if rest in ("", "local") else rest


def init_ray(*, address: str | None, num_cpus: int | None = None) -> None:
    """Join a cluster by address, or start Ray on this machine; quiet, no dashboard."""
    import ray

    if ray.is_initialized():
        return
    if address is None:
        try:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, namespace="ktpel")
        except Exception:  # noqa: BLE001 - an overloaded machine can time Ray's node start out: once more
            ray.shutdown()
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, namespace="ktpel")
    else:
        ray.init(address=address, log_to_driver=False, namespace="ktpel")


def abis_from_settings(settings) -> Abis:  # noqa: ANN001
    """The ABIS this process should call (see the module docstring)."""
    spec = (getattr(settings, "abis", "") or INPROC).strip()
    if spec == INPROC:
        return BuiltinAbis()
    if not is_ray(spec):
        raise ValueError(f"unknown ABIS {spec!r}: use 'inproc', 'ray://local', 'ray://auto' or 'ray://HOST:PORT'")
    from ktpel.central.abis.ray_abis import RayAbis

    address = ray_address(spec)
    init_ray(address=address)
    if address is None:
        return RayAbis.start(shards=settings.abis_shards, settings=settings)
    return RayAbis.attach()
