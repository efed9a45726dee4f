"""Deep merge of layers: nested settings merge, lists replace, null and delete rules."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pysetl.config._merge import DELETE, Source, deep_merge, merge_layer


class TestDeepMerge:
    def test_nested_settings_merge_instead_of_replacing(self, conf):
        conf.write(
            "base/catalog.yaml",
            """
            connectors:
              orders:
                storage: csv
                path: /data/orders.csv
                options: {sep: ";", header: "true"}
            """,
        )
        conf.write(
            "prod/catalog.yaml",
            """
            connectors:
              orders:
                path: s3://prod/orders.csv
                options: {header: "false"}
            """,
        )
        orders = conf.load("prod").as_dict()["connectors"]["orders"]
        assert orders == {
            "storage": "csv",
            "path": "s3://prod/orders.csv",
            "options": {"sep": ";", "header": "false"},
        }

    def test_lists_replace_the_lower_list(self, conf):
        conf.write("base/a.yaml", "tags: [a, b, c]\npartition_by: [day]\n")
        conf.write("prod/a.yaml", "tags: [z]\n")
        cfg = conf.load("prod")
        assert cfg.get("tags") == ("z",)
        assert cfg.as_dict()["partition_by"] == ["day"]

    def test_null_replaces_the_value_and_keeps_the_key(self, conf):
        conf.write("base/a.yaml", "db: {timeout: 10, user: etl}\n")
        conf.write("prod/a.yaml", "db: {timeout: null}\n")
        assert conf.load("prod").as_dict()["db"] == {"timeout": None, "user": "etl"}

    def test_delete_marker_removes_the_key_from_lower_layers(self, conf):
        conf.write("base/a.yaml", "db: {timeout: 10, user: etl}\nextra: {x: 1}\n")
        conf.write("prod/a.yaml", f"db: {{timeout: {DELETE}}}\nextra: {DELETE}\n")
        data = conf.load("prod").as_dict()
        assert data == {"db": {"user": "etl"}}

    def test_delete_marker_works_in_toml_too(self, conf):
        conf.write("base/a.toml", "[db]\ntimeout = 10\nuser = 'etl'\n")
        conf.write("prod/a.toml", f"[db]\ntimeout = '{DELETE}'\n")
        assert conf.load("prod").as_dict() == {"db": {"user": "etl"}}

    def test_replace_marker_replaces_a_mapping_instead_of_merging(self, conf):
        conf.write("base/a.yaml", "db: {host: a, port: 1, user: etl}\n")
        conf.write("prod/a.yaml", "db!: {host: b}\n")
        assert conf.load("prod").as_dict() == {"db": {"host": "b"}}

    def test_scalar_replaces_a_mapping_and_a_mapping_replaces_a_scalar(self, conf):
        conf.write("base/a.yaml", "a: {x: 1}\nb: 2\n")
        conf.write("prod/a.yaml", "a: 5\nb: {y: 3}\n")
        assert conf.load("prod").as_dict() == {"a": 5, "b": {"y": 3}}

    def test_yaml_and_toml_files_merge_in_one_layer(self, conf):
        conf.write("base/a.yaml", "db: {host: a}\n")
        conf.write("base/b.toml", "[db]\nport = 5432\n")
        assert conf.load().as_dict() == {"db": {"host": "a", "port": 5432}}

    def test_deep_merge_helper_copies_and_never_mutates(self):
        base = {"a": {"b": [1]}, "c": 1}
        override = {"a": {"d": 2}}
        merged = deep_merge(base, override)
        assert merged == {"a": {"b": [1], "d": 2}, "c": 1}
        merged["a"]["b"].append(9)
        assert base == {"a": {"b": [1]}, "c": 1}

    def test_yaml_anchors_and_merge_keys_are_expanded(self, conf):
        conf.write(
            "base/a.yaml",
            """
            defaults: &defaults {fetchsize: 100, user: etl}
            db:
              <<: *defaults
              user: admin
            """,
        )
        assert conf.load().as_dict()["db"] == {"fetchsize": 100, "user": "admin"}


KEYS = st.sampled_from(["a", "b", "c", "d"])
LEAVES = st.one_of(
    st.none(), st.integers(), st.text(max_size=3), st.lists(st.integers(), max_size=2)
)
TREES = st.recursive(
    LEAVES, lambda children: st.dictionaries(KEYS, children, max_size=3), max_leaves=10
)
MAPS = st.dictionaries(KEYS, TREES, max_size=4)


def _leaves(tree, path=()):
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            yield from _leaves(value, (*path, key))
        else:
            yield (*path, key), value


def _paths(tree, path=()):
    for key, value in tree.items():
        yield (*path, key), value
        if isinstance(value, dict):
            yield from _paths(value, (*path, key))


class TestDeepMergeProperty:
    @settings(max_examples=200, deadline=None)
    @given(lower=MAPS, higher=MAPS)
    def test_higher_leaves_win_and_untouched_lower_leaves_stay(self, lower, higher):
        target: dict = {}
        origins: dict = {}
        merge_layer(target, lower, Source("base"), origins)
        merge_layer(target, higher, Source("prod"), origins)
        result = dict(_leaves(target))
        for path, value in _leaves(higher):
            if value == {}:
                continue  # an empty mapping merges into the lower one: no change
            assert result[path] == value
            assert origins[path][0].layer == "prod"
        touched = dict(_paths(higher))
        for path, value in _leaves(lower):
            blocked = any(
                path[:end] in touched and not isinstance(touched[path[:end]], dict)
                for end in range(1, len(path) + 1)
            ) or (path in touched)
            if not blocked:
                assert result[path] == value
                assert origins[path][0].layer == "base"
