"""Demo step: the 2020 circular's priority preset against the default, on one simulated quarter."""

from __future__ import annotations


def simulate_presets(*, settings, office_db, console) -> list:  # noqa: ANN001
    from ktpel.domain.priority import parse_policy
    from ktpel.office.printing.policy import DEFAULT_POLICY
    from ktpel.office.printing.simulator import Scenario, simulate, summary_rows

    folder = DEFAULT_POLICY.parent
    scenario = Scenario(days=90, blanks_per_week=300, outages_per_year=0, seed=7)
    lines = []
    for name in ("default", "se-dirjen-2020"):
        policy = parse_policy((folder / f"{name}.yaml").read_text(encoding="utf-8"), source=name)
        rows = {code: (p50, p90) for code, _, _, p50, p90, _ in summary_rows(simulate(policy=policy, scenario=scenario))}
        shown = ", ".join(f"{c} p50 {rows[c][0]:.1f} h" for c in ("all", "first_time", "disaster", "suket_prr",
                                                                  "lost_damaged", "health") if c in rows)
        lines.append(f"{policy.name}: {shown}")
    console.print("[green]✓[/green] simulasi 90 hari (tunggu PRR → cetak) · " + " | ".join(lines))
    console.print("  bandingkan sendiri / compare: ktpel simulate --policy default --policy se-dirjen-2020")
    return []
