// Stand-in for gloo/algorithm.h: see native/distributed/gloo_decl/gloo/README.md.
#pragma once
