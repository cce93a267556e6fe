/* ringplan: golden ketama vectors from libmemcached itself (see make_golden.sh).
 * SPDX-License-Identifier: MIT
 *
 * Prints, for a fixed list of server configurations, the server index libmemcached's
 * memcached_generate_hash picks for the keys "key:0" .. "key:<KEYS-1>", with
 * MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED (which also selects MD5 for keys and points). */
#include <libmemcached/memcached.h>
#include <stdio.h>
#include <string.h>

#define KEYS 300

/* The configurations of tests/compat_ketama_test.cpp: variant 0 equal weights, default port;
 * 1 equal weights, other ports; 2 unequal weights, default port; 3 unequal weights, mixed ports. */
static void server(int variant, int i, char *host, size_t size, unsigned *port, unsigned *weight) {
  if (variant == 0 || variant == 2) {
    snprintf(host, size, "10.0.%d.%d", i / 250, i % 250 + 1);
  } else {
    snprintf(host, size, "cache-%d.example.com", i);
  }
  *port = variant == 1 ? 11300u + (unsigned) i : variant == 3 && i % 2 ? 20000u + (unsigned) i : 11211u;
  *weight = variant < 2 ? 1u : 1u + (unsigned) ((i * 37) % 11) + (i == 3 ? 200u : 0u);
}

int main(void) {
  static const int counts[] = {1, 2, 3, 4, 5, 7, 10, 16, 25, 50, 100};
  printf("# ketama owners from libmemcached %s (KETAMA_WEIGHTED, MD5); keys key:0..key:%d\n",
         memcached_lib_version(), KEYS - 1);
  for (int variant = 0; variant < 4; ++variant) {
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; ++c) {
      memcached_st *memc = memcached_create(NULL);
      memcached_server_list_st list = NULL;
      memcached_return_t rc;
      memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
      printf("servers");
      for (int i = 0; i < counts[c]; ++i) {
        char host[64];
        unsigned port, weight;
        server(variant, i, host, sizeof host, &port, &weight);
        printf("%s%s:%u:%u", i ? "," : " ", host, port, weight);
        list = memcached_server_list_append_with_weight(list, host, (in_port_t) port, weight, &rc);
      }
      printf("\nowners");
      memcached_server_push(memc, list);
      memcached_server_list_free(list);
      for (int k = 0; k < KEYS; ++k) {
        char key[32];
        int n = snprintf(key, sizeof key, "key:%d", k);
        printf(" %u", memcached_generate_hash(memc, key, (size_t) n));
      }
      printf("\n");
      memcached_free(memc);
    }
  }
  return 0;
}
