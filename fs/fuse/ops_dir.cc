// Directory operations: opendir, readdir, readdirplus, releasedir, fsyncdir.
#include <dirent.h>
#include <sys/stat.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fs/fuse/ops_common.h"
#include "fs/fuse/ops_internal.h"

namespace chainfs::fuse::detail {

namespace {

struct Listed {
  std::string name;
  fs::Ino ino;
  uint32_t type;
  uint64_t next_cookie;
};

bool is_dot(const std::string& n) { return n == "." || n == ".."; }

}  // namespace

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  // Directory handles carry no state: readdir cookies are stable offsets (Filesystem::readdir).
  guarded(req, "opendir", ino, [&](Reply& r) {
    fi->fh = 0;
    r.open(fi);
  });
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* /*fi*/) {
  guarded(req, "readdir", ino, [&](Reply& r) {
    std::unique_ptr<char[]> buf(new char[size]);
    size_t used = 0;
    std::string name;
    int e = filesystem(r).readdir(ino, static_cast<uint64_t>(off), [&](const fs::DirEntry& d) {
      name.assign(d.name);  // fuse_add_direntry wants a C string
      struct stat st;
      std::memset(&st, 0, sizeof st);
      st.st_ino = d.ino;
      st.st_mode = DTTOIF(d.type);
      size_t need = fuse_add_direntry(req, buf.get() + used, size - used, name.c_str(), &st,
                                      static_cast<off_t>(d.next_cookie));
      if (need > size - used) return false;
      used += need;
      return true;
    });
    // An error after some entries: send those; the next call meets the error again.
    if (e < 0 && used == 0) return r.error(e);
    r.buf(buf.get(), used);
  });
}

void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* /*fi*/) {
  guarded(req, "readdirplus", ino, [&](Reply& r) {
    fs::Filesystem& fs = filesystem(r);
    // First collect the names that fit, then look them up outside readdir()'s callback,
    // so the filesystem never sees a lookup while it walks the directory.
    std::vector<Listed> items;
    size_t room = 0;
    int e = fs.readdir(ino, static_cast<uint64_t>(off), [&](const fs::DirEntry& d) {
      std::string name(d.name);
      size_t need = fuse_add_direntry_plus(req, nullptr, 0, name.c_str(), nullptr, 0);
      if (room + need > size) return false;
      room += need;
      items.push_back(Listed{std::move(name), d.ino, d.type, d.next_cookie});
      return true;
    });
    if (e < 0 && items.empty()) return r.error(e);

    std::unique_ptr<char[]> buf(new char[size]);
    size_t used = 0;
    std::vector<fs::Ino> referenced;  // lookup references handed to the kernel with this reply
    referenced.reserve(items.size());
    for (const Listed& it : items) {
      fuse_entry_param ent;
      std::memset(&ent, 0, sizeof ent);
      if (is_dot(it.name)) {
        // The kernel takes no reference for . and ..: ino 0, only the attributes' inode.
        ent.attr.st_ino = it.ino;
        ent.attr.st_mode = DTTOIF(it.type);
      } else {
        auto a = fs.lookup(ino, it.name);
        if (!a) {
          if (a.err() == -ENOENT) continue;  // removed since it was listed
          if (used == 0) return r.error(a.err());
          break;
        }
        ent = to_entry(*a, r.ctx().timeout_s);
      }
      size_t need = fuse_add_direntry_plus(req, buf.get() + used, size - used, it.name.c_str(), &ent,
                                           static_cast<off_t>(it.next_cookie));
      if (need > size - used) {  // cannot happen (sizes were counted), but never leak a reference
        if (ent.ino) fs.forget(ent.ino, 1);
        break;
      }
      used += need;
      if (ent.ino) referenced.push_back(ent.ino);
    }
    if (!r.buf(buf.get(), used))
      for (fs::Ino i : referenced) fs.forget(i, 1);
  });
}

void op_releasedir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* /*fi*/) {
  guarded(req, "releasedir", ino, [&](Reply& r) { r.ok(); });
}

void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int /*datasync*/, fuse_file_info* /*fi*/) {
  // Directory changes live in metadata blocks shared across inodes: sync them all.
  guarded(req, "fsyncdir", ino, [&](Reply& r) { r.error(filesystem(r).sync()); });
}

}  // namespace chainfs::fuse::detail
