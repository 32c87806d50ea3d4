"""The one precision signal: a paired ratio's 95% interval wider than ±15% of it."""

from bench.results import quality, records


def _paired(median, low, high):
    case = records.new_case("loading", "selectinload", {}, unit="loads", ops_per_round=1,
                            driver="aiosqlite")
    case.update(status="ok", paired={"reference": "raw_driver", "median": median,
                                     "ci95_low": low, "ci95_high": high, "blocks": 8})
    return case


def test_the_wider_side_of_the_interval_decides():
    assert quality.spread(2.0, 1.9, 2.2) == 0.10000000000000009
    assert not quality.too_wide(_paired(2.0, 1.8, 2.2))  # ±10%
    assert quality.too_wide(_paired(2.0, 1.9, 2.4))  # +20% on one side is enough
    assert quality.flag(_paired(2.0, 1.9, 2.4)) == "interval ±20%"
    assert quality.flag(_paired(2.0, 1.8, 2.2)) is None


def test_advice_counts_only_cases_with_a_ratio_and_is_silent_when_all_are_precise():
    reference = _paired(1.0, 1.0, 1.0)
    reference["paired"] = None  # the reference has no ratio to itself
    precise, wide = _paired(2.0, 1.9, 2.1), _paired(3.0, 2.0, 4.0)
    assert quality.advice([reference, precise]) is None
    advice = quality.advice([reference, precise, wide])
    assert advice is not None and advice.startswith("1 of 2 ratios to the reference")
    assert "--profile standard" in advice
