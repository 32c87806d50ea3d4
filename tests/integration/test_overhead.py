"""python -m bench.run.overhead measures both sides: the runner's raw_driver case really runs."""

from bench.run.overhead import main


def test_overhead_prints_both_rates_and_their_ratio(tmp_path, capsys):
    assert main(["--driver", "aiosqlite", "--url", f"sqlite:///{tmp_path / 'o.sqlite3'}",
                 "--ops", "20", "--rounds", "3", "--repeats", "1"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("aiosqlite: hand-written loop ") and "runner raw_driver" in line
    ratio = float(line.rsplit("ratio ", 1)[1])
    assert 0 < ratio < 100  # a wide margin: the point is that both sides measured something
