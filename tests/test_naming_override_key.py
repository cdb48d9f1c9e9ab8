"""The one reading of a Hydra override's key that the sweep, report and resolve code share."""
from ablate.config.naming import bare_override, override_key


def test_override_key_strips_hydras_prefixes_and_keeps_the_value_whole():
    assert override_key("++trainer.epochs=9.9") == "trainer.epochs"
    assert override_key("+model.widths=[64,128]") == "model.widths"
    assert override_key("~trainer.tta") == "trainer.tta"
    assert override_key("aug=none") == "aug"
    assert bare_override("++data.root=/a=b") == "data.root=/a=b"
    assert override_key("data.root=/a=b") == "data.root"
