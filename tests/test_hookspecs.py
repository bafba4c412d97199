"""Meta-tests: every hookspec is documented, callable as documented, and used."""

import importlib.util
import inspect

import pytest

import caro_hookspecs
from caro_core import hookimpl
from caro_core.plugins import make_plugin_manager


def _reference(repo_root):
    spec = importlib.util.spec_from_file_location("hooks_reference", repo_root / "docs" / "hooks_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def reference(request):
    return _reference(request.config.rootpath)


def specs():
    from pathlib import Path
    return list(_reference(Path(__file__).resolve().parent.parent).hookspecs())


def test_docs_plugins_md_mirrors_every_hookspec(reference):
    assert reference.current_section() == reference.render(), (
        "docs/plugins.md is out of date: run python docs/hooks_reference.py --write")
    assert len(specs()) >= 25


@pytest.mark.parametrize("family, name, fn, firstresult", specs(), ids=lambda v: getattr(v, "__name__", None))
def test_spec_is_fully_documented(family, name, fn, firstresult):
    assert name.startswith(f"caro_{family}_") or family == "core"
    doc = inspect.getdoc(fn)
    assert "Called" in doc, "say when it is called"
    for arg in inspect.signature(fn).parameters:
        assert f":param {arg}:" in doc, f"{name}: document parameter {arg}"
    assert ":returns:" in doc
    assert ("firstresult" in doc) == firstresult, "say whether it is firstresult"
    assert "Example::" in doc


@pytest.mark.parametrize("family, name, fn, firstresult", specs(), ids=lambda v: getattr(v, "__name__", None))
def test_spec_calls_through_the_plugin_manager_as_documented(family, name, fn, firstresult):
    """A plugin implementing exactly the documented arguments is called with them."""
    args = list(inspect.signature(fn).parameters)
    seen = []

    def make(answer):
        # a real function whose parameters are exactly the spec's, as a plugin author writes it
        namespace = {"seen": seen, "answer": answer}
        exec(f"def {name}({', '.join(args)}):\n"
             f"    seen.append({{{', '.join(f'{a!r}: {a}' for a in args)}}})\n"
             f"    return answer\n", namespace)
        return hookimpl(namespace[name])

    first, second = type("First", (), {}), type("Second", (), {})
    first_plugin, second_plugin = first(), second()
    setattr(first_plugin, name, make("first"))
    setattr(second_plugin, name, make("second"))
    pm = make_plugin_manager({"disable": [], "autoload": False}, environ={})
    for plugin in list(pm.get_plugins()):  # only the two test plugins answer
        pm.unregister(plugin)
    pm.register(first_plugin, name="first")
    pm.register(second_plugin, name="second")
    kwargs = {a: f"<{a}>" for a in args}
    hook = getattr(pm.hook, name)
    if firstresult:
        assert hook(**kwargs) == "second"  # last registered runs first; its answer wins
        assert len(seen) == 1
    else:
        assert hook(**kwargs) == ["second", "first"]
        assert len(seen) == 2
    assert seen[0] == kwargs


def test_every_family_module_is_registered():
    import pkgutil
    modules = {m.name for m in pkgutil.iter_modules(caro_hookspecs.__path__)}
    assert modules == set(caro_hookspecs.FAMILIES)
