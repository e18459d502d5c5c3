// Stand-in for gloo/common/error.h: see native/gloo_decl/gloo/README.md.
#pragma once
