#!/usr/bin/env python3
"""Checks conanfile.py and test_package/conanfile.py without Conan (which this project's
machines can not install); run by ctest (ringplan_conan_recipe) as

    python3 cmake/checks/conan_recipe.py SOURCE_DIR VERSION [PYFLAKES]

1. Both recipes compile, and pass pyflakes when PYFLAKES (its executable) is given.
2. The recipe is loaded against a small stand-in for the `conan` package, and its methods are
   called the way `conan create` calls them: set_version() must read VERSION from
   include/ringplan/version.hpp; the package is header-only with one package id; package()
   must copy every public header and the license; package_info() must name the CMake package
   and target as CMake's own install does (ringplan, ringplan::ringplan).
What this can not show: that Conan itself accepts the recipe, resolves xxhash, and builds
test_package/ (ctest builds test_package/ against a plain install instead).
"""
import fnmatch
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import types


def fail(message):
    sys.exit("conan_recipe.py: " + message)


def install_conan_stand_in(calls):
    """Registers modules named like Conan 2's, holding just what the recipes use."""

    class ConanException(Exception):
        pass

    class ConanFile:
        def __init__(self):
            self.settings = Settings()
            self.info = Info()
            self.cpp_info = CppInfo()

    class Settings:
        def get_safe(self, name):
            return {"compiler.cppstd": "17"}.get(name)

    class Info:
        cleared = False

        def clear(self):
            self.cleared = True

    class CppInfo:
        def __init__(self):
            self.properties = {}
            self.bindirs = ["bin"]
            self.libdirs = ["lib"]

        def set_property(self, name, value):
            self.properties[name] = value

    def load(conanfile, path):
        with open(path, encoding="utf-8") as f:
            return f.read()

    def copy(conanfile, pattern, src, dst):
        copied = []
        for root, _, files in os.walk(src):
            for name in files:
                rel = os.path.relpath(os.path.join(root, name), src)
                if fnmatch.fnmatch(rel, pattern):
                    os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
                    shutil.copy2(os.path.join(src, rel), os.path.join(dst, rel))
                    copied.append(rel)
        return copied

    def check_min_cppstd(conanfile, cppstd):
        calls.append(("check_min_cppstd", str(cppstd)))

    def record(name):
        return lambda *args, **kwargs: calls.append((name,) + args[1:])

    modules = {
        "conan": {"ConanFile": ConanFile},
        "conan.errors": {"ConanException": ConanException,
                         "ConanInvalidConfiguration": ConanException},
        "conan.tools": {},
        "conan.tools.build": {"check_min_cppstd": check_min_cppstd, "can_run": lambda c: True},
        "conan.tools.files": {"copy": copy, "load": load},
        "conan.tools.layout": {"basic_layout": record("basic_layout")},
        "conan.tools.cmake": {"CMake": object, "cmake_layout": record("cmake_layout")},
    }
    for name, attributes in modules.items():
        module = types.ModuleType(name)
        module.__dict__.update(attributes)
        sys.modules[name] = module
    return ConanFile


def load_recipe(path, base):
    namespace = {"__file__": path, "__name__": "recipe"}
    with open(path, encoding="utf-8") as f:
        exec(compile(f.read(), path, "exec"), namespace)
    classes = [v for v in namespace.values()
               if isinstance(v, type) and issubclass(v, base) and v is not base]
    if len(classes) != 1:
        fail("%s: expected one ConanFile class, found %d" % (path, len(classes)))
    return namespace, classes[0]


def main():
    if len(sys.argv) not in (3, 4):
        fail("usage: conan_recipe.py SOURCE_DIR VERSION [PYFLAKES]")
    source_dir, version = sys.argv[1], sys.argv[2]
    recipe = os.path.join(source_dir, "conanfile.py")
    test_recipe = os.path.join(source_dir, "test_package", "conanfile.py")

    # 1. compile and lint
    with tempfile.TemporaryDirectory() as out:
        for path in (recipe, test_recipe):
            try:
                py_compile.compile(path, cfile=os.path.join(out, "recipe.pyc"), doraise=True)
            except py_compile.PyCompileError as e:
                fail(str(e))
    if len(sys.argv) == 4:
        lint = subprocess.run([sys.argv[3], recipe, test_recipe])
        if lint.returncode != 0:
            fail("pyflakes reported the problems above")

    # 2. the recipe's methods, as `conan create` calls them
    calls = []
    base = install_conan_stand_in(calls)
    namespace, cls = load_recipe(recipe, base)
    if namespace.get("required_conan_version", "").lstrip(">=~ ").split(".")[0] != "2":
        fail("conanfile.py: required_conan_version should ask for Conan 2")
    expected = {"name": "ringplan", "package_type": "header-library", "no_copy_source": True,
                "license": "MIT"}
    for attribute, value in expected.items():
        if getattr(cls, attribute, None) != value:
            fail("conanfile.py: %s is %r, expected %r"
                 % (attribute, getattr(cls, attribute, None), value))
    if getattr(cls, "version", None) is not None:
        fail("conanfile.py: a fixed version duplicates include/ringplan/version.hpp; "
             "set_version() reads it")

    conanfile = cls()
    conanfile.recipe_folder = source_dir
    conanfile.set_version()
    if conanfile.version != version:
        fail("set_version() read %r, the project's version is %s" % (conanfile.version, version))

    conanfile.requires = lambda ref, **traits: calls.append(("requires", ref, traits))
    conanfile.requirements()
    requires = [c for c in calls if c[0] == "requires"]
    if len(requires) != 1 or not requires[0][1].startswith("xxhash/"):
        fail("conanfile.py: expected one requirement, xxhash; got %r" % requires)
    if not requires[0][2].get("transitive_headers"):
        fail("conanfile.py: ringplan's headers include xxhash.h: require it with "
             "transitive_headers=True")

    conanfile.package_id()
    if not conanfile.info.cleared:
        fail("conanfile.py: package_id() must clear the info (one package for all settings)")
    conanfile.validate()
    if ("check_min_cppstd", "17") not in calls:
        fail("conanfile.py: validate() should check for C++17")

    with tempfile.TemporaryDirectory() as package_folder:
        conanfile.source_folder = source_dir
        conanfile.package_folder = package_folder
        conanfile.package()
        headers = sorted(os.path.relpath(os.path.join(root, name), os.path.join(source_dir, "include"))
                         for root, _, files in os.walk(os.path.join(source_dir, "include"))
                         for name in files if name.endswith(".hpp"))
        for header in headers:
            if not os.path.isfile(os.path.join(package_folder, "include", header)):
                fail("package() does not copy include/%s" % header)
        if not os.path.isfile(os.path.join(package_folder, "licenses", "LICENSE")):
            fail("package() does not copy LICENSE to licenses/")

    conanfile.package_info()
    properties = conanfile.cpp_info.properties
    for name, value in (("cmake_file_name", "ringplan"),
                        ("cmake_target_name", "ringplan::ringplan"),
                        ("pkg_config_name", "ringplan")):
        if properties.get(name) != value:
            fail("package_info(): %s is %r, expected %r" % (name, properties.get(name), value))
    if conanfile.cpp_info.bindirs or conanfile.cpp_info.libdirs:
        fail("package_info(): a header-only package has no bindirs or libdirs")

    # 3. test_package: loads, requires the tested reference, and uses Conan's CMake generators
    _, test_cls = load_recipe(test_recipe, base)
    generators = set(getattr(test_cls, "generators", ()))
    if not {"CMakeDeps", "CMakeToolchain"} <= generators:
        fail("test_package/conanfile.py: generators should be CMakeDeps and CMakeToolchain")
    test = test_cls()
    test.tested_reference_str = "ringplan/" + version
    test.requires = lambda ref, **traits: calls.append(("test_requires", ref))
    test.requirements()
    if ("test_requires", test.tested_reference_str) not in calls:
        fail("test_package/conanfile.py: requirements() must require tested_reference_str")

    print("conan_recipe.py: conanfile.py (ringplan/%s) and test_package check out" % version)


if __name__ == "__main__":
    main()
