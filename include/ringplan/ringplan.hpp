// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// The umbrella header: everything a user names.
#ifndef RINGPLAN_RINGPLAN_HPP
#define RINGPLAN_RINGPLAN_HPP

#include <ringplan/allocate.hpp>
#include <ringplan/bytes.hpp>
#include <ringplan/cassandra.hpp>
#include <ringplan/error.hpp>
#include <ringplan/failure_detector.hpp>
#include <ringplan/handoff.hpp>
#include <ringplan/hash.hpp>
#include <ringplan/ketama.hpp>
#include <ringplan/membership.hpp>
#include <ringplan/migration.hpp>
#include <ringplan/partitions.hpp>
#include <ringplan/placement.hpp>
#include <ringplan/plan.hpp>
#include <ringplan/plan_types.hpp>
#include <ringplan/project.hpp>
#include <ringplan/rf.hpp>
#include <ringplan/ring.hpp>
#include <ringplan/schedule.hpp>
#include <ringplan/token.hpp>
#include <ringplan/topology.hpp>
#include <ringplan/version.hpp>
#include <ringplan/xxh3.hpp>

#endif  // RINGPLAN_RINGPLAN_HPP
