// Process-wide allocator settings for programs that run the analyzers over many layers.
//
// The analyzers allocate and free many 100 KB – 10 MB buffers per layer (float64 copies of a
// layer's [n, d] hidden states, Laplacian stacks, libtorch temporaries). With glibc's defaults
// such blocks are mmap'ed or trimmed back to the kernel when freed, so every call pays page
// faults to get the same memory back: in bench/layer_metrics that was ~10 % of the decomposition
// family's samples (perf), and keeping freed memory took it from 1.25 to 0.91 ms per layer.
#pragma once

namespace sinkscope {

/// Keep freed heap memory in the process for reuse: blocks up to 32 MiB come from the heap
/// instead of fresh mappings, and up to 256 MiB of free memory at the top of the heap is kept.
/// Call once at start-up, before threads start. Larger blocks (model weights) are unaffected.
void RetainFreedMemoryForReuse();

}  // namespace sinkscope
