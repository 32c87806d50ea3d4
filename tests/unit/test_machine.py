"""The machine-speed probe's summaries and the lines they give run and compare."""

from bench.judge.compare import machine_speed_line
from bench.measure import machine


def _case(probes, variant="raw_driver", params=None, rtt=None):
    case = {"scenario": "s", "variant": variant, "params": params or {"n": 1},
            "machine_ns": probes}
    if rtt is not None:
        case["rtt_ms"] = rtt
    return case


def test_a_point_counts_its_blocks_once_whatever_its_number_of_cases():
    cases = [_case([1, 2, 3]), _case([1, 2, 3], variant="orm"),
             _case([7, 8], params={"n": 2}), _case([5], params={"n": 1}, rtt=2)]
    assert sorted(machine.point_probes(cases)) == [1, 2, 3, 5, 7, 8]


def test_files_without_probes_give_no_speed_and_no_line():
    assert machine.point_probes([{"scenario": "s", "variant": "v", "params": {}}]) == []
    assert machine.speed_of([]) is None
    assert machine.run_speed_line(None) is None
    assert machine.compare_speed_line(None, machine.speed_of([1_000_000])) is None


def test_the_run_line_says_when_the_machine_changed_speed_during_the_run():
    steady = machine.speed_of([1_000_000 + i * 1_000 for i in range(100)])
    assert steady is not None and steady.swing < 1.1
    assert "changed speed" not in machine.run_speed_line(steady)
    drifting = machine.speed_of([1_000_000] * 50 + [1_600_000] * 50)
    assert drifting is not None and drifting.swing == 1.6
    line = machine.run_speed_line(drifting)
    assert "changed speed 1.60x" in line and "1.30 ms per block" in line


def _doc(probes):
    return {"cases": [_case(probes)]}


def test_compare_says_when_the_two_sides_ran_at_different_speeds():
    assert machine_speed_line([_doc([1_000_000] * 10)], [_doc([1_050_000] * 10)]) is None
    slower = machine_speed_line([_doc([1_000_000] * 10)], [_doc([1_500_000] * 10)])
    assert slower is not None and "+50%" in slower and "sqla-bench ab" in slower
    assert machine_speed_line([{"cases": []}], [_doc([1])]) is None
