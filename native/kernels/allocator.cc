// A caching CPU allocator for large tensors, switched on and off from TypeScript
// (src/torch/kernels.ts: setCpuCache / withCpuCache) through two dispatcher operators:
//
//   gcrl::set_cpu_cache(int max_bytes) -> ()   0 switches caching off and frees every cached block
//   gcrl::cpu_cache_stats() -> int[]            [cached bytes, hits, misses, blocks in use]
//
// Why: libtorch's default CPU allocator hands every large tensor to malloc, which maps it fresh
// from the kernel (glibc caps its mmap threshold at 32 MiB) and unmaps it on free. A training step
// of the reference model allocates and frees gigabytes of activations, so each step pays page
// faults and zeroing for all of them (the "system" CPU time of `npm run bench -- train`). Steps
// repeat the same sizes, so keeping freed blocks by size and handing them out again removes that
// cost; memory stays flat because the sizes do not change from step to step.
//
// Blocks of at least 1 MiB are rounded up to 64 KiB and kept in per-size free lists, up to
// max_bytes in all (beyond that a freed block goes back to the system). Smaller blocks are
// allocated and freed as libtorch's default allocator does (c10::alloc_cpu / free_cpu).
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <torch/library.h>

#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace gcrl {
namespace {

constexpr size_t kMinCached = size_t{1} << 20;
constexpr size_t kRound = size_t{1} << 16;

// Every block (cached sizes or not) is allocated with c10::alloc_cpu and its DataPtr's context is
// the data pointer itself, as libtorch's default allocator does, so raw_allocate/raw_deallocate
// (used by some ATen kernels for scratch buffers) work through raw_deleter().
//
// c10::Allocator changed in PyTorch 2.3: allocate() lost its const and copy_data() became pure
// virtual. Both spellings of allocate() and a copy_data() are declared, without `override`: each
// libtorch's Allocator overrides the one it declares (1.13: the const allocate(); 2.x: the other
// and copy_data()), so this file builds against either.
class CachingCpuAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t n) const { return allocateBlock(n); }
  c10::DataPtr allocate(size_t n) { return allocateBlock(n); }
  void copy_data(void* dest, const void* src, std::size_t count) const {
    if (count > 0) std::memcpy(dest, src, count);
  }

  c10::DataPtr allocateBlock(size_t n) const {
    if (n < kMinCached) {
      void* p = c10::alloc_cpu(n);
      return {p, p, &CachingCpuAllocator::release, c10::Device(c10::DeviceType::CPU)};
    }
    const size_t size = (n + kRound - 1) / kRound * kRound;
    void* p = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        p = it->second.back();
        it->second.pop_back();
        cached_ -= size;
        ++hits_;
      } else {
        ++misses_;
      }
      ++inUse_;
    }
    if (p == nullptr) {
      p = c10::alloc_cpu(size);
      std::lock_guard<std::mutex> lock(mutex_);
      sizes_[p] = size;
    }
    return {p, p, &CachingCpuAllocator::release, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &CachingCpuAllocator::release; }

  // Never destroyed: tensors freed during process exit still find it.
  static CachingCpuAllocator& instance() {
    static CachingCpuAllocator* a = new CachingCpuAllocator();
    return *a;
  }

  void setMax(size_t maxBytes) {
    std::vector<void*> drop;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      max_ = maxBytes;
      if (maxBytes == 0) {
        for (auto& [size, blocks] : free_) {
          for (void* p : blocks) {
            sizes_.erase(p);
            drop.push_back(p);
          }
        }
        free_.clear();
        cached_ = 0;
      }
    }
    for (void* p : drop) c10::free_cpu(p);
  }

  std::vector<int64_t> stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return {static_cast<int64_t>(cached_), hits_, misses_, inUse_};
  }

 private:
  // The deleter of every block this allocator handed out: large blocks go back to their free list
  // while the cache has room, everything else back to the system.
  static void release(void* p) {
    if (p == nullptr) return;
    CachingCpuAllocator& a = instance();
    {
      std::lock_guard<std::mutex> lock(a.mutex_);
      auto it = a.sizes_.find(p);
      if (it != a.sizes_.end()) {
        --a.inUse_;
        const size_t size = it->second;
        if (a.cached_ + size <= a.max_) {
          a.free_[size].push_back(p);
          a.cached_ += size;
          return;
        }
        a.sizes_.erase(it);
      }
    }
    c10::free_cpu(p);
  }

  mutable std::mutex mutex_;
  mutable std::unordered_map<size_t, std::vector<void*>> free_;
  mutable std::unordered_map<void*, size_t> sizes_;
  mutable size_t cached_ = 0;
  size_t max_ = 0;
  mutable int64_t hits_ = 0, misses_ = 0, inUse_ = 0;
};

void setCpuCache(int64_t maxBytes) {
  TORCH_CHECK(maxBytes >= 0, "gcrl::set_cpu_cache: max_bytes must be >= 0");
  CachingCpuAllocator& a = CachingCpuAllocator::instance();
  a.setMax(static_cast<size_t>(maxBytes));
  // Blocks handed out by either allocator carry their own deleter, so switching is safe at any time.
  c10::SetCPUAllocator(maxBytes > 0 ? static_cast<c10::Allocator*>(&a) : c10::GetDefaultCPUAllocator(), 0);
}

std::vector<int64_t> cpuCacheStats() { return CachingCpuAllocator::instance().stats(); }

}  // namespace

TORCH_LIBRARY_FRAGMENT(gcrl, m) {
  m.def("set_cpu_cache(int max_bytes) -> ()", &setCpuCache);
  m.def("cpu_cache_stats() -> int[]", &cpuCacheStats);
}

}  // namespace gcrl
