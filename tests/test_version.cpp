// `talon --version` against what independent tools say of this build: the
// torch it was built against (torch/version.py, written by PyTorch's own
// build), the CUDA code in the binary (cuobjdump's list of cubins and PTX),
// whether it calls into c10d's NCCL backend (nm) and links mimalloc (readelf).
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "test_support.h"

namespace {

using talon::testing::run_talon;

// The value of `name = '...'` in torch/version.py; "" for None.
std::string torch_version_field(const std::string& name) {
  std::ifstream in(TALON_TORCH_VERSION_PY);
  EXPECT_TRUE(in) << "cannot read " << TALON_TORCH_VERSION_PY;
  const std::regex assignment(name + R"((?::[^=]*)? = (?:'([^']*)'|None))");
  std::smatch match;
  for (std::string line; std::getline(in, line);) {
    if (std::regex_match(line, match, assignment)) return match[1];
  }
  ADD_FAILURE() << "no " << name << " in " << TALON_TORCH_VERSION_PY;
  return "";
}

std::string output_of(const std::string& command) {
  std::string out;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
    ::pclose(pipe);
  }
  return out;
}

// The CUDA architectures the binary carries, as nvcc names them: sm_XX for
// each cubin, compute_XX for each PTX.
std::set<std::string> architectures_in_binary() {
  std::set<std::string> found;
  const std::regex entry(R"((ELF|PTX) file\s+\d+: \S+\.(sm_\w+)\.(cubin|ptx))");
  const std::string listing = output_of(std::string(TALON_CUOBJDUMP) + " --list-elf --list-ptx " + TALON_BINARY);
  for (std::sregex_iterator it(listing.begin(), listing.end(), entry), end; it != end; ++it) {
    const std::string arch = (*it)[2];
    found.insert((*it)[1] == "ELF" ? arch : "compute_" + arch.substr(3));
  }
  return found;
}

TEST(Version, ReportsTheBuild) {
  const auto run = run_talon("--version");
  ASSERT_EQ(run.status, 0) << run.out;
  std::istringstream lines(run.out);
  std::string talon, torch, cuda, nccl, allocator;
  std::getline(lines, talon);
  std::getline(lines, torch);
  std::getline(lines, cuda);
  std::getline(lines, nccl);
  std::getline(lines, allocator);
  EXPECT_EQ(talon, "talon " TALON_PROJECT_VERSION);

  // torch's __version__ carries the CUDA build as a local suffix (+cu130).
  const std::string torch_version = torch_version_field("__version__");
  EXPECT_EQ(torch, "libtorch " + torch_version.substr(0, torch_version.find('+')));

  // The CUDA line names exactly what the binary carries (a build without
  // CUDA code may have no cuobjdump to list it with).
  if (std::string(TALON_CUOBJDUMP).empty()) {
    EXPECT_EQ(cuda, "CUDA: not compiled in") << "no cuobjdump found to list the binary's CUDA code";
    return;
  }
  const std::set<std::string> in_binary = architectures_in_binary();
  if (in_binary.empty()) {
    EXPECT_EQ(cuda, "CUDA: not compiled in");
  } else {
    std::smatch match;
    ASSERT_TRUE(std::regex_match(cuda, match, std::regex(R"(CUDA: compiled in \(toolkit [0-9.]+, architectures (.*)\))")))
        << cuda;
    std::set<std::string> reported;
    std::istringstream names(match[1].str());
    for (std::string name; names >> name;) reported.insert(name);
    EXPECT_EQ(reported, in_binary);
  }
  // With a CUDA torch and the default architectures, the kernels are built
  // for H100 and H200, with PTX for later GPUs.
  if (!torch_version_field("cuda").empty() && TALON_DEFAULT_CUDA_BUILD) {
    EXPECT_TRUE(in_binary.count("sm_90") && in_binary.count("compute_90")) << cuda;
  }

  const bool calls_nccl =
      output_of(std::string("nm -D -C --undefined-only ") + TALON_BINARY).find("c10d::ProcessGroupNCCL::ProcessGroupNCCL") !=
      std::string::npos;
  EXPECT_EQ(nccl, calls_nccl ? "NCCL: compiled in" : "NCCL: not compiled in");

  // The binary's malloc is mimalloc's when it links it (cmake/allocator.cmake).
  const bool links_mimalloc =
      output_of(std::string("readelf -d ") + TALON_BINARY).find("[libmimalloc.so.2]") != std::string::npos;
  EXPECT_EQ(links_mimalloc, bool(TALON_MIMALLOC_LINKED));
  if (links_mimalloc) {
    EXPECT_TRUE(std::regex_match(allocator, std::regex(R"(allocator: mimalloc 2\.\d\.\d)"))) << allocator;
  } else {
    EXPECT_EQ(allocator, "allocator: the C library's malloc");
  }
}

}  // namespace
