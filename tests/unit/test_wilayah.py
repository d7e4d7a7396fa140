def test_registry_has_every_kemendagri_code(regions):
    assert len(regions) == 91_599
    assert len(regions.children(None)) == 38
    assert regions["18.01"].name == "Kabupaten Lampung Selatan"


def test_parent_chain_goes_from_village_to_province(regions):
    village = next(iter(regions.descendants("18.01.06", level=4)))
    chain = regions.parents(village.code)
    assert [r.level for r in chain] == [4, 3, 2, 1]
    assert [r.code for r in chain[1:]] == ["18.01.06", "18.01", "18"]


def test_children_and_descendants(regions):
    districts = regions.children("18.01")
    assert districts and all(d.level == 3 and d.code.startswith("18.01.") for d in districts)
    assert {d.code for d in districts} == {d.code for d in regions.descendants("18.01", level=3)}


def test_search_by_name_puts_exact_names_first(regions):
    hits = regions.search("kalianda")
    assert hits[0].code == "18.01.06"
    assert all("kalianda" in h.name.lower() for h in hits)
    assert regions.search("   ") == []
