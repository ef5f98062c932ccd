// Analytics RPCs of OrdersService (work in progress).
#include <gtest/gtest.h>
