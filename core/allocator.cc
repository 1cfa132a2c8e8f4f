#include "core/allocator.h"

#include <malloc.h>

namespace sinkscope {

void RetainFreedMemoryForReuse() {
#if defined(__GLIBC__)
  // 32 MiB is the largest mmap threshold glibc accepts on 64-bit systems. Setting either value
  // also turns off glibc's dynamic threshold, which would otherwise move with each free.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

}  // namespace sinkscope
