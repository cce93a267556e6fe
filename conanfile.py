# Conan 2 recipe for ringplan, a header-only library: one package for every configuration.
#   conan create .                  packages this checkout and builds test_package/ against it
# Consumers: requires "ringplan/<version>", then find_package(ringplan) and ringplan::ringplan.
import os
import re

from conan import ConanFile
from conan.errors import ConanException
from conan.tools.build import check_min_cppstd
from conan.tools.files import copy, load
from conan.tools.layout import basic_layout

required_conan_version = ">=2.0"


class RingplanConan(ConanFile):
    name = "ringplan"
    description = ("Header-only C++17 consistent hashing: who owns a key, and what moves, from "
                   "whom, to whom, when a node leaves, crashes or joins.")
    license = "MIT"
    topics = ("consistent-hashing", "hash-ring", "sharding", "replication", "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"  # for validate(); cleared in package_id()
    exports_sources = "include/*", "LICENSE"
    no_copy_source = True

    def set_version(self):
        # The version lives in one place, include/ringplan/version.hpp (as for CMake).
        header = load(self, os.path.join(self.recipe_folder, "include", "ringplan", "version.hpp"))
        parts = []
        for part in ("MAJOR", "MINOR", "PATCH"):
            found = re.search(r"^#define RINGPLAN_VERSION_%s +([0-9]+)" % part, header, re.M)
            if found is None:
                raise ConanException("version.hpp has no RINGPLAN_VERSION_%s" % part)
            parts.append(found.group(1))
        self.version = ".".join(parts)

    def layout(self):
        basic_layout(self)

    def requirements(self):
        # ringplan's headers include xxhash.h (used header-only, XXH_INLINE_ALL).
        self.requires("xxhash/[>=0.8.1 <0.9]", transitive_headers=True)

    def package_id(self):
        self.info.clear()

    def validate(self):
        if self.settings.get_safe("compiler.cppstd"):
            check_min_cppstd(self, 17)

    def package(self):
        copy(self, "LICENSE", self.source_folder, os.path.join(self.package_folder, "licenses"))
        copy(self, "*.hpp", os.path.join(self.source_folder, "include"),
             os.path.join(self.package_folder, "include"))

    def package_info(self):
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []
        self.cpp_info.set_property("cmake_file_name", "ringplan")
        self.cpp_info.set_property("cmake_target_name", "ringplan::ringplan")
        self.cpp_info.set_property("pkg_config_name", "ringplan")
