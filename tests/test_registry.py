import pytest

import zoo
from zoo import registry


def test_unknown_name_suggests_close_matches():
    with pytest.raises(ValueError, match="Did you mean 'cgan_t2i'"):
        zoo.build("cgan_t2")


def test_duplicate_registration_raises():
    with pytest.raises(ValueError, match="already registered"):
        registry.register_model("cgan_t2i", task="text-to-image")(lambda **kw: None)


def test_list_models_filters():
    names = zoo.list_models()
    assert names == sorted(names) and "cgan_t2i" in names
    assert set(zoo.list_models(task="text-to-image")) >= {"cgan_t2i", "cgan_t2i_tiny"}
    assert zoo.list_models(pattern="*_tiny") == [n for n in names if n.endswith("_tiny")]
    with pytest.raises(ValueError, match="Unknown task"):
        zoo.list_models(task="speech")


def test_unknown_override_names_the_fields():
    with pytest.raises(ValueError, match="Unknown config field"):
        zoo.build("cgan_t2i_tiny", widht=3)
