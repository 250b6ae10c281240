"""Chinese address text normalised and split into the parts of a standard address."""

import pytest

from mapsvc.registry.addresses import chinese_to_int, normalise, split

SAME = "人民路12号幸福小区3栋2单元502室"


@pytest.mark.parametrize("typed", [
    "人民路12号幸福小区3栋2单元502室",
    "人民路１２号幸福小区３幢２单元５０２室",       # full-width digits
    "人民路十二号幸福小区三栋二单元五零二室",       # Chinese numerals
    "人民路12号 幸福小区 3号楼 2门 502户",          # spaces and other words for each part
    "人民路12号幸福小区3座2单元502房",
    "人民路12号幸福小区3-2-502",                  # building-entrance-room shorthand
    "人民路　12号　幸福小区3幢2单元502室",         # ideographic spaces
])
def test_spellings_of_one_address_normalise_alike(typed):
    assert normalise(typed) == SAME


def test_the_parts_of_a_standard_address():
    parts = split("海滨大道88号碧桂园5座1单元12层1201室")
    assert parts.as_dict() == {"street": "海滨大道", "number": "88号", "compound": "碧桂园",
                               "building": "5", "entrance": "1", "floor": "12", "room": "1201"}
    assert split("XX村3组15号").as_dict()["number"] == "15号"
    assert split("东门路8号").street == "东门路"  # 门 in a street name is not an entrance


@pytest.mark.parametrize("text,value", [("十二", 12), ("一百零五", 105), ("二〇三", 203),
                                        ("二十", 20), ("两千零一", 2001), ("九", 9)])
def test_chinese_numerals(text, value):
    assert chinese_to_int(text) == value


def test_text_that_does_not_follow_the_order_is_kept_whole():
    assert split("村口大榕树旁").street == "村口大榕树旁"
