"""The feature registry: resolution order, aliases, implicit core, config."""

from __future__ import annotations

import re

import pytest

from gadgets import features
from gadgets.errors import UnsupportedFeature
from gadgets.spec_model import FeatureRequest


def required(name: str, *views: str) -> FeatureRequest:
    return FeatureRequest(name=name, required=True, views=views)


def optional(name: str) -> FeatureRequest:
    return FeatureRequest(name=name, required=False)


def test_dependencies_come_before_their_dependents() -> None:
    names = features.resolve_names(["views", "dynamic-height", "setprefs"])

    for name in names:
        for dep in features.FEATURES[name].deps:
            assert names.index(dep) < names.index(name), (dep, name)
    assert len(names) == len(set(names))


def test_core_is_added_even_when_not_asked_for() -> None:
    names = features.resolve([required("settitle")], "default")

    assert names[0] == "globals"
    assert {"core", "core.io", "core.prefs", "core.legacy"} <= set(names)
    assert names[-1] == "settitle"


def test_no_features_still_gives_core() -> None:
    assert "core" in features.resolve([], None)


def test_container_script_leaves_out_gadget_core() -> None:
    names = features.resolve_names(["container"])

    assert names[-1] == "container"
    assert "rpc" in names
    assert "core.legacy" not in names


@pytest.mark.parametrize(
    "alias",
    [
        "opensocial-0.7",
        "opensocial-0.8",
        "opensocial-0.9",
        "opensocial-1.0",
        "opensocial-2.0",
    ],
)
def test_opensocial_versions_map_to_the_minimal_opensocial(alias: str) -> None:
    names = features.resolve([required(alias)], None)

    assert "opensocial" in names
    assert alias not in names


def test_dynamic_height_height_is_an_alias() -> None:
    names = features.resolve_names(["dynamic-height.height"])

    assert names[-1] == "dynamic-height"


def test_unknown_required_feature_is_refused_by_name() -> None:
    with pytest.raises(UnsupportedFeature) as caught:
        features.resolve([required("google.contentmatch")], None)

    assert caught.value.message == (
        "This gadget requires the feature 'google.contentmatch', "
        "which this container does not provide."
    )


def test_unknown_optional_feature_is_dropped() -> None:
    names = features.resolve([optional("wave"), optional("tabs")], None)

    assert "wave" not in names
    assert "tabs" in names


def test_features_for_other_views_are_skipped() -> None:
    names = features.resolve([required("tabs", "canvas")], "home")

    assert "tabs" not in names
    assert "tabs" in features.resolve([required("tabs", "canvas")], "canvas")


def test_unknown_required_feature_of_another_view_is_ignored() -> None:
    assert features.resolve([required("wave", "canvas")], "home")


def test_markers_have_no_javascript_but_resolve() -> None:
    names = features.resolve_names(["security-token", "locked-domain", "analytics"])

    assert {"security-token", "locked-domain", "shindig.auth"} <= set(names)


def test_version_is_a_short_stable_checksum() -> None:
    assert re.fullmatch(r"[0-9a-f]{12}", features.version())
    assert features.version() == features.version()


def test_script_url_is_on_the_container_origin(settings) -> None:  # type: ignore[no-untyped-def]
    url = features.script_url(["core", "rpc"])

    assert url == (
        f"{settings.CONTAINER_ORIGIN}/gadgets/js/core:rpc.js?v={features.version()}"
    )
    assert features.script_url(["core"], debug=True).endswith("&debug=1")


def test_javascript_concatenates_in_the_given_order() -> None:
    script = features.javascript(["globals", "core.config", "core.json"], debug=True)

    assert script.index("gadgets.config =") < script.index("gadgets.json =")
    assert features.javascript(["globals"]) is features.javascript(["globals"])


def test_compact_javascript_drops_whole_line_comments_only() -> None:
    script = features.javascript(features.resolve_names(["core"]))

    assert "gadgets.Prefs.setDefaultPrefs_" in script
    assert "\n//" not in script
    assert "throw 1; < don't be evil' >" in script


def test_feature_config_gives_io_views_and_css() -> None:
    config = features.feature_config(
        ["core.io", "views", "tabs", "minimessage"],
        gadget_origin="http://abc.gadgets.localhost:8000",
        container="default",
    )

    io = config["core.io"]
    assert isinstance(io, dict)
    assert io["jsonProxyUrl"] == "/gadgets/makeRequest"
    assert io["unparseableCruft"] == "throw 1; < don't be evil' >"
    assert io["proxyUrl"] == "%rawurl%"
    assert config["views"] == {
        name: {"isOnlyVisible": name == "canvas", "aliases": aliases}
        for name, aliases in features.VIEW_ALIASES.items()
    }
    assert config["tabs"] == {"css": features.TABS_CSS}
    assert config["minimessage"] == {"css": features.MINIMESSAGE_CSS}


def test_feature_config_leaves_out_features_not_in_play() -> None:
    config = features.feature_config(
        ["core.io"], gadget_origin="http://a.example", container="default"
    )

    assert set(config) == {"core.io"}


def test_view_aliases_fall_back_as_documented() -> None:
    assert features.VIEW_ALIASES["home"] == ["default"]
    assert features.VIEW_ALIASES["canvas"] == ["FULL_PAGE"]
    assert features.VIEW_ALIASES["profile"] == ["DASHBOARD", "default"]


def test_rpc_config_allows_only_the_container_as_parent(settings) -> None:  # type: ignore[no-untyped-def]
    config = features.feature_config(
        ["rpc"], gadget_origin="http://a.example", container="default"
    )

    assert config["rpc"] == {"parentOrigins": [settings.CONTAINER_ORIGIN]}
