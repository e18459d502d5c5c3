// Stand-in for gloo/algorithm.h: see native/gloo_decl/gloo/README.md.
#pragma once
