

def test_baseline_sample_takes_documents_from_every_level_in_turn():
    from eval.cases import Case
    from eval.run import spread_docs

    cases = [Case(id=f"d{i}:scan", doc=f"d{i}", kind="scan", path="", truth={}, level=level)
             for i, level in enumerate(["heavy"] * 3 + ["light"] * 3 + ["moderate"] * 3)]
    assert spread_docs(cases, 4) == ["d0", "d3", "d6", "d1"]
    assert sorted(spread_docs(cases, 20)) == sorted(f"d{i}" for i in range(9))
