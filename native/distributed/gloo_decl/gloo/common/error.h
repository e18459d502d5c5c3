// Stand-in for gloo/common/error.h: see native/distributed/gloo_decl/gloo/README.md.
#pragma once
