// Included by ProcessGroupGloo.hpp; it needs nothing from it (see rendezvous/store.h).
#pragma once
