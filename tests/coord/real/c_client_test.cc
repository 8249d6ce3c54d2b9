// The Debian ZooKeeper C client (libzookeeper-mt) against three real `weir coord` servers.
// Run by c_client_test.py, which owns the servers: lines starting with '@' on stdout ask it to
// kill or restart one, and it answers on stdin. Every check exits with a message on failure.
//
//   c_client_test HOST:PORT,HOST:PORT,HOST:PORT
//   c_client_test --child-ephemeral HOSTS PATH TIMEOUT_MS   (internal: a client to SIGKILL)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A fixed credential and its digest (base64 of SHA-1 of "weir:secret"), as ZooKeeper's
// DigestAuthenticationProvider stores it in the ACL.
constexpr char kCredential[] = "weir:secret";
constexpr char kDigestId[] = "weir:ZQ/ohBUa9qH2cKcgJ4vEBj9gTBo=";

const char* g_step = "start";

[[noreturn]] void fail(int line, const char* format, ...) {
  std::fprintf(stdout, "FAILED in step '%s' at c_client_test.cc:%d: ", g_step, line);
  va_list args;
  va_start(args, format);
  std::vfprintf(stdout, format, args);
  va_end(args);
  std::fprintf(stdout, "\n");
  std::fflush(stdout);
  // Not exit(): the client's threads may still be inside callbacks.
  std::_Exit(1);
}

#define CHECK(cond)                                  \
  do {                                               \
    if (!(cond)) fail(__LINE__, "CHECK(%s)", #cond); \
  } while (0)
#define CHECK_RC(expr, want)                                                                 \
  do {                                                                                       \
    const int rc_ = (expr);                                                                  \
    if (rc_ != (want)) {                                                                     \
      fail(__LINE__, "%s returned %s (%d), want %s", #expr, zerror(rc_), rc_, zerror(want)); \
    }                                                                                        \
  } while (0)
#define CHECK_EQ_STR(a, b)                                                                      \
  do {                                                                                          \
    const std::string a_(a), b_(b);                                                             \
    if (a_ != b_) fail(__LINE__, "%s == %s: \"%s\" vs \"%s\"", #a, #b, a_.c_str(), b_.c_str()); \
  } while (0)
#define CHECK_EQ_INT(a, b)                                                  \
  do {                                                                      \
    const long long a_ = (a), b_ = (b);                                     \
    if (a_ != b_) fail(__LINE__, "%s == %s: %lld vs %lld", #a, #b, a_, b_); \
  } while (0)

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void step(const char* name) {
  g_step = name;
  std::printf("step: %s\n", name);
  std::fflush(stdout);
}

// Watch events delivered to one watcher context, for tests to wait on. The client calls
// watchers on its completion thread, so everything here is under a mutex.
struct Event {
  int type;
  int state;
  std::string path;
};

struct EventLog {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Event> events;

  void add(int type, int state, const char* path) {
    std::lock_guard lock(mu);
    events.push_back(Event{type, state, path ? path : ""});
    cv.notify_all();
  }
  // Waits until at least `n` node events arrived; returns how many there are. Session events
  // do not count: the client also tells every pending watcher of connection changes.
  size_t wait_count(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, timeout, [&] { return node_events().size() >= n; });
    return node_events().size();
  }
  std::vector<Event> node_events() const {
    std::vector<Event> out;
    for (const Event& e : events) {
      if (e.type != ZOO_SESSION_EVENT) out.push_back(e);
    }
    return out;
  }
  // Waits for a session event in `state`.
  bool wait_state(int state, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] {
      return std::any_of(events.begin(), events.end(), [&](const Event& e) {
        return e.type == ZOO_SESSION_EVENT && e.state == state;
      });
    });
  }
  bool saw_state(int state) {
    std::lock_guard lock(mu);
    return std::any_of(events.begin(), events.end(),
                       [&](const Event& e) { return e.state == state; });
  }
  void clear() {
    std::lock_guard lock(mu);
    events.clear();
  }
  // The i-th node event.
  Event at(size_t i) {
    std::lock_guard lock(mu);
    return node_events().at(i);
  }
};

void record_event(zhandle_t*, int type, int state, const char* path, void* ctx) {
  static_cast<EventLog*>(ctx)->add(type, state, path);
}

// One client handle with its session-event log.
struct Client {
  zhandle_t* zh = nullptr;
  EventLog session;
};

zhandle_t* connect_into(Client& c, const std::string& hosts, int timeout_ms,
                        const clientid_t* id = nullptr) {
  c.zh = zookeeper_init(hosts.c_str(), record_event, timeout_ms, id, &c.session, 0);
  CHECK(c.zh != nullptr);
  if (!c.session.wait_state(ZOO_CONNECTED_STATE, 20s)) {
    fail(__LINE__, "no connection to %s within 20 s (state %d)", hosts.c_str(), zoo_state(c.zh));
  }
  return c.zh;
}

int connected_port(zhandle_t* zh) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (zookeeper_get_connected_host(zh, reinterpret_cast<sockaddr*>(&addr), &len) == nullptr)
    return -1;
  CHECK(addr.ss_family == AF_INET);
  return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

// Asks the driver to do something to the servers; returns its answer (without "ok ").
std::string driver(const std::string& request) {
  std::printf("@%s\n", request.c_str());
  std::fflush(stdout);
  char line[256];
  if (std::fgets(line, sizeof line, stdin) == nullptr) fail(__LINE__, "driver closed stdin");
  std::string answer(line);
  while (!answer.empty() && answer.back() == '\n') answer.pop_back();
  if (answer.rfind("ok", 0) != 0)
    fail(__LINE__, "driver refused %s: %s", request.c_str(), answer.c_str());
  return answer.size() > 3 ? answer.substr(3) : "";
}

// Runs `op` until it gives something other than ConnectionLoss/OperationTimeout (what a call
// gets while its server is gone or the ensemble elects a leader), for at most 20 s.
template <typename Op>
int retrying(Op op) {
  const auto start = Clock::now();
  while (true) {
    const int rc = op();
    if ((rc != ZCONNECTIONLOSS && rc != ZOPERATIONTIMEOUT) || seconds_since(start) > 20) return rc;
    std::this_thread::sleep_for(50ms);
  }
}

std::string get_data(zhandle_t* zh, const char* path, Stat* stat = nullptr) {
  char buf[1024];
  int len = sizeof buf;
  Stat local{};
  CHECK_RC(zoo_get(zh, path, 0, buf, &len, stat ? stat : &local), ZOK);
  return len < 0 ? std::string() : std::string(buf, static_cast<size_t>(len));
}

std::vector<std::string> children(zhandle_t* zh, const char* path) {
  String_vector v{};
  CHECK_RC(zoo_get_children(zh, path, 0, &v), ZOK);
  std::vector<std::string> out(v.data, v.data + v.count);
  deallocate_String_vector(&v);
  std::sort(out.begin(), out.end());
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

// Completion of an async call that reports only a code and maybe a string (sync, add_auth).
struct Completion {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int rc = 0;
  std::string value;

  int wait() {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, 20s, [&] { return done; })) fail(__LINE__, "no completion within 20 s");
    return rc;
  }
};

void complete_void(int rc, const void* data) {
  auto* c = const_cast<Completion*>(static_cast<const Completion*>(data));
  std::lock_guard lock(c->mu);
  c->rc = rc;
  c->done = true;
  c->cv.notify_all();
}

void complete_string(int rc, const char* value, const void* data) {
  auto* c = const_cast<Completion*>(static_cast<const Completion*>(data));
  std::lock_guard lock(c->mu);
  c->rc = rc;
  c->value = value ? value : "";
  c->done = true;
  c->cv.notify_all();
}

void add_auth(zhandle_t* zh, const char* credential) {
  Completion c;
  CHECK_RC(zoo_add_auth(zh, "digest", credential, static_cast<int>(std::strlen(credential)),
                        complete_void, &c),
           ZOK);
  CHECK_RC(c.wait(), ZOK);
}

// ZooKeeper's sync: afterwards this session reads at least what the leader had committed.
void sync_path(zhandle_t* zh, const char* path) {
  Completion c;
  CHECK_RC(zoo_async(zh, path, complete_string, &c), ZOK);
  CHECK_RC(c.wait(), ZOK);
  CHECK_EQ_STR(c.value, path);
}

std::string seq_name(const char* prefix, int n) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%s%010d", prefix, n);
  return buf;
}

// Polls until `path` is gone (or `limit` passes); returns the seconds it took.
double wait_gone(zhandle_t* zh, const char* path, double limit) {
  const auto start = Clock::now();
  while (true) {
    Stat st{};
    const int rc = zoo_exists(zh, path, 0, &st);
    if (rc == ZNONODE) return seconds_since(start);
    CHECK_RC(rc, ZOK);
    if (seconds_since(start) > limit) fail(__LINE__, "%s still exists after %.1f s", path, limit);
    std::this_thread::sleep_for(20ms);
  }
}

// ---- the steps -----------------------------------------------------------------------------

struct Ctx {
  std::string hosts;
  std::vector<std::string> host_list;
  Client a;  // the main session: all servers
  Client b;  // a second session on another server
  std::string self_exe;
};

void test_create(Ctx& t) {
  step("create: persistent, ephemeral, sequential, ephemeral-sequential");
  zhandle_t* zh = t.a.zh;
  char path[256];
  Stat st{};
  CHECK_RC(zoo_create2(zh, "/ct", "v0", 2, &ZOO_OPEN_ACL_UNSAFE, 0, path, sizeof path, &st), ZOK);
  CHECK_EQ_STR(path, "/ct");
  CHECK_EQ_INT(st.version, 0);
  CHECK_EQ_INT(st.dataLength, 2);
  CHECK_EQ_INT(st.ephemeralOwner, 0);
  CHECK_EQ_INT(st.numChildren, 0);
  CHECK(st.czxid > 0 && st.czxid == st.mzxid && st.czxid == st.pzxid);
  CHECK(st.ctime > 0 && st.ctime == st.mtime);
  CHECK_RC(zoo_create(zh, "/ct", "x", 1, &ZOO_OPEN_ACL_UNSAFE, 0, path, sizeof path), ZNODEEXISTS);
  CHECK_RC(zoo_create(zh, "/missing/x", "x", 1, &ZOO_OPEN_ACL_UNSAFE, 0, path, sizeof path),
           ZNONODE);

  const int64_t session = zoo_client_id(zh)->client_id;
  CHECK_RC(zoo_create2(zh, "/ct/eph", "e", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, path,
                       sizeof path, &st),
           ZOK);
  CHECK_EQ_INT(st.ephemeralOwner, session);
  CHECK_RC(zoo_create(zh, "/ct/eph/child", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, path, sizeof path),
           ZNOCHILDRENFOREPHEMERALS);

  // A sequential name carries the parent's cversion at creation, zero-padded to 10 digits.
  for (int i = 0; i < 3; ++i) {
    Stat parent{};
    CHECK_RC(zoo_exists(zh, "/ct", 0, &parent), ZOK);
    CHECK_RC(zoo_create(zh, "/ct/s-", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE, path, sizeof path),
             ZOK);
    CHECK_EQ_STR(path, seq_name("/ct/s-", parent.cversion));
  }
  Stat parent{};
  CHECK_RC(zoo_exists(zh, "/ct", 0, &parent), ZOK);
  CHECK_RC(zoo_create2(zh, "/ct/es-", "q", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL_SEQUENTIAL, path,
                       sizeof path, &st),
           ZOK);
  CHECK_EQ_STR(path, seq_name("/ct/es-", parent.cversion));
  CHECK_EQ_INT(st.ephemeralOwner, session);
  std::printf("  sequential names: %s\n", path);
}

void test_reads(Ctx& t) {
  step("exists, get, get_children, get_children2 with Stat");
  zhandle_t* zh = t.a.zh;
  Stat st{};
  CHECK_EQ_STR(get_data(zh, "/ct", &st), "v0");
  CHECK_EQ_INT(st.version, 0);
  CHECK_EQ_INT(st.dataLength, 2);
  CHECK_EQ_INT(st.numChildren, 5);
  CHECK_RC(zoo_exists(zh, "/ct/nope", 0, &st), ZNONODE);
  char buf[16];
  int len = sizeof buf;
  CHECK_RC(zoo_get(zh, "/ct/nope", 0, buf, &len, &st), ZNONODE);

  const std::vector<std::string> want = {"eph", "es-0000000004", "s-0000000001", "s-0000000002",
                                         "s-0000000003"};
  CHECK_EQ_STR(join(children(zh, "/ct")), join(want));

  String_vector v{};
  Stat parent{};
  CHECK_RC(zoo_get_children2(zh, "/ct", 0, &v, &parent), ZOK);
  CHECK_EQ_INT(v.count, 5);
  deallocate_String_vector(&v);
  Stat last{};
  CHECK_RC(zoo_exists(zh, "/ct/es-0000000004", 0, &last), ZOK);
  CHECK_EQ_INT(parent.numChildren, 5);
  CHECK_EQ_INT(parent.cversion, 5);
  CHECK_EQ_INT(parent.pzxid, last.czxid);  // the last child change
  CHECK_RC(zoo_get_children2(zh, "/ct/nope", 0, &v, &parent), ZNONODE);
  // The root lists what this test created (and ZooKeeper's /zookeeper if the server has it).
  std::vector<std::string> root = children(zh, "/");
  CHECK(std::find(root.begin(), root.end(), "ct") != root.end());
}

void test_versions(Ctx& t) {
  step("set and delete with expected versions");
  zhandle_t* zh = t.a.zh;
  Stat before{}, st{};
  CHECK_RC(zoo_exists(zh, "/ct", 0, &before), ZOK);
  CHECK_RC(zoo_set2(zh, "/ct", "v1", 2, 0, &st), ZOK);
  CHECK_EQ_INT(st.version, 1);
  CHECK(st.mzxid > before.mzxid);
  CHECK_EQ_INT(st.czxid, before.czxid);
  CHECK(st.mtime >= before.mtime);
  CHECK_RC(zoo_set(zh, "/ct", "v2", 2, 0), ZBADVERSION);
  CHECK_EQ_STR(get_data(zh, "/ct"), "v1");
  CHECK_RC(zoo_set2(zh, "/ct", "v2", 2, -1, &st), ZOK);
  CHECK_EQ_INT(st.version, 2);
  CHECK_RC(zoo_set(zh, "/ct/nope", "x", 1, -1), ZNONODE);

  CHECK_RC(zoo_delete(zh, "/ct/s-0000000001", 5), ZBADVERSION);
  CHECK_RC(zoo_delete(zh, "/ct/s-0000000001", 0), ZOK);
  CHECK_RC(zoo_delete(zh, "/ct/s-0000000001", -1), ZNONODE);
  CHECK_RC(zoo_delete(zh, "/ct", -1), ZNOTEMPTY);
}

void test_multi(Ctx& t) {
  step("multi: success with per-op results, atomic failure");
  zhandle_t* zh = t.a.zh;
  char created[128];
  Stat set_stat{};
  zoo_op_t ops[4];
  zoo_op_result_t res[4];
  zoo_create_op_init(&ops[0], "/ct/m1", "a", 1, &ZOO_OPEN_ACL_UNSAFE, 0, created, sizeof created);
  zoo_set_op_init(&ops[1], "/ct", "v3", 2, 2, &set_stat);
  zoo_check_op_init(&ops[2], "/ct", 3);
  zoo_delete_op_init(&ops[3], "/ct/s-0000000002", 0);
  CHECK_RC(zoo_multi(zh, 4, ops, res), ZOK);
  for (int i = 0; i < 4; ++i) CHECK_RC(res[i].err, ZOK);
  CHECK_EQ_STR(created, "/ct/m1");
  CHECK_EQ_INT(set_stat.version, 3);
  CHECK_EQ_STR(get_data(zh, "/ct"), "v3");
  Stat st{};
  CHECK_RC(zoo_exists(zh, "/ct/s-0000000002", 0, &st), ZNONODE);

  // The check fails: nothing is applied, the ops before it report Ok and those after it
  // RuntimeInconsistency, as ZooKeeper's rollback does.
  zoo_create_op_init(&ops[0], "/ct/m2", "b", 1, &ZOO_OPEN_ACL_UNSAFE, 0, created, sizeof created);
  zoo_check_op_init(&ops[1], "/ct", 99);
  zoo_set_op_init(&ops[2], "/ct/m1", "changed", 7, -1, nullptr);
  CHECK_RC(zoo_multi(zh, 3, ops, res), ZBADVERSION);
  CHECK_RC(res[0].err, ZOK);
  CHECK_RC(res[1].err, ZBADVERSION);
  CHECK_RC(res[2].err, ZRUNTIMEINCONSISTENCY);
  CHECK_RC(zoo_exists(zh, "/ct/m2", 0, &st), ZNONODE);
  CHECK_EQ_STR(get_data(zh, "/ct/m1"), "a");

  // A failing op first: the failure is reported for it and the rest are inconsistent.
  zoo_delete_op_init(&ops[0], "/ct/absent", -1);
  zoo_create_op_init(&ops[1], "/ct/m3", "c", 1, &ZOO_OPEN_ACL_UNSAFE, 0, created, sizeof created);
  CHECK_RC(zoo_multi(zh, 2, ops, res), ZNONODE);
  CHECK_RC(res[0].err, ZNONODE);
  CHECK_RC(res[1].err, ZRUNTIMEINCONSISTENCY);
  CHECK_RC(zoo_exists(zh, "/ct/m3", 0, &st), ZNONODE);
}

void test_acl(Ctx& t) {
  step("ACLs: addAuth digest, getACL, setACL with versions");
  zhandle_t* zh = t.a.zh;
  char path[128];
  add_auth(zh, kCredential);
  CHECK_RC(zoo_create(zh, "/ct/acl", "secret", 6, &ZOO_CREATOR_ALL_ACL, 0, path, sizeof path), ZOK);
  ACL_vector acl{};
  Stat st{};
  CHECK_RC(zoo_get_acl(zh, "/ct/acl", &acl, &st), ZOK);
  CHECK_EQ_INT(acl.count, 1);
  CHECK_EQ_STR(acl.data[0].id.scheme, "digest");
  CHECK_EQ_STR(acl.data[0].id.id, kDigestId);
  CHECK_EQ_INT(acl.data[0].perms, ZOO_PERM_ALL);
  CHECK_EQ_INT(st.aversion, 0);
  deallocate_ACL_vector(&acl);

  // Session b has no credentials: it may not read or change the node. exists needs READ too
  // (ZooKeeper 3.8.4 and later; before, anyone could stat any node).
  zhandle_t* other = t.b.zh;
  char buf[64];
  int len = sizeof buf;
  sync_path(other, "/ct/acl");
  CHECK_RC(zoo_exists(other, "/ct/acl", 0, &st), ZNOAUTH);
  CHECK_RC(zoo_get(other, "/ct/acl", 0, buf, &len, &st), ZNOAUTH);
  CHECK_RC(zoo_set(other, "/ct/acl", "x", 1, -1), ZNOAUTH);
  CHECK_RC(zoo_create(other, "/ct/noauth", "", 0, &ZOO_CREATOR_ALL_ACL, 0, path, sizeof path),
           ZINVALIDACL);
  add_auth(other, "weir:wrong");
  CHECK_RC(zoo_get(other, "/ct/acl", 0, buf, &len, &st), ZNOAUTH);

  // World may read from now on; the ACL version guards setACL like a data version.
  ACL both[2] = {{ZOO_PERM_READ, {const_cast<char*>("world"), const_cast<char*>("anyone")}},
                 {ZOO_PERM_ALL, {const_cast<char*>("digest"), const_cast<char*>(kDigestId)}}};
  ACL_vector next{2, both};
  CHECK_RC(zoo_set_acl(zh, "/ct/acl", 5, &next), ZBADVERSION);
  CHECK_RC(zoo_set_acl(zh, "/ct/acl", 0, &next), ZOK);
  CHECK_RC(zoo_get_acl(zh, "/ct/acl", &acl, &st), ZOK);
  CHECK_EQ_INT(acl.count, 2);
  CHECK_EQ_INT(st.aversion, 1);
  CHECK_EQ_INT(st.version, 0);
  deallocate_ACL_vector(&acl);
  sync_path(other, "/ct/acl");  // b's server may not have applied the setACL yet
  len = sizeof buf;
  CHECK_RC(zoo_get(other, "/ct/acl", 0, buf, &len, &st), ZOK);
  CHECK_EQ_STR(std::string(buf, static_cast<size_t>(len)), "secret");
  CHECK_RC(zoo_set(other, "/ct/acl", "x", 1, -1), ZNOAUTH);
  CHECK_RC(zoo_set_acl(other, "/ct/acl", -1, &ZOO_OPEN_ACL_UNSAFE), ZNOAUTH);
  // Without ADMIN, getACL masks the digest hashes.
  CHECK_RC(zoo_get_acl(other, "/ct/acl", &acl, &st), ZOK);
  CHECK_EQ_INT(acl.count, 2);
  CHECK_EQ_STR(acl.data[1].id.id, "weir:x");
  deallocate_ACL_vector(&acl);
  // Credentials add up: with the right one as well, b may write.
  add_auth(other, kCredential);
  CHECK_RC(zoo_set(other, "/ct/acl", "by-b", 4, -1), ZOK);
}

void test_watches(Ctx& t) {
  step("watches: data, exists, child and delete watches fire once");
  zhandle_t* zh = t.a.zh;
  zhandle_t* other = t.b.zh;
  char path[128];
  char buf[64];
  int len = sizeof buf;
  Stat st{};
  CHECK_RC(zoo_create(zh, "/ct/w", "0", 1, &ZOO_OPEN_ACL_UNSAFE, 0, path, sizeof path), ZOK);

  EventLog data;
  CHECK_RC(zoo_wget(zh, "/ct/w", record_event, &data, buf, &len, &st), ZOK);
  CHECK_RC(zoo_set(other, "/ct/w", "1", 1, -1), ZOK);
  CHECK_EQ_INT(data.wait_count(1, 10s), 1);
  CHECK_EQ_INT(data.at(0).type, ZOO_CHANGED_EVENT);
  CHECK_EQ_INT(data.at(0).state, ZOO_CONNECTED_STATE);
  CHECK_EQ_STR(data.at(0).path, "/ct/w");
  CHECK_EQ_STR(get_data(zh, "/ct/w"), "1");  // the event came before a read could see it
  CHECK_RC(zoo_set(other, "/ct/w", "2", 1, -1), ZOK);

  EventLog created;
  CHECK_RC(zoo_wexists(zh, "/ct/x", record_event, &created, &st), ZNONODE);
  CHECK_RC(zoo_create(other, "/ct/x", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, path, sizeof path), ZOK);
  CHECK_EQ_INT(created.wait_count(1, 10s), 1);
  CHECK_EQ_INT(created.at(0).type, ZOO_CREATED_EVENT);
  CHECK_EQ_STR(created.at(0).path, "/ct/x");

  EventLog child;
  String_vector v{};
  CHECK_RC(zoo_wget_children(zh, "/ct/w", record_event, &child, &v), ZOK);
  CHECK_EQ_INT(v.count, 0);
  deallocate_String_vector(&v);
  CHECK_RC(zoo_create(other, "/ct/w/c1", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, path, sizeof path), ZOK);
  CHECK_EQ_INT(child.wait_count(1, 10s), 1);
  CHECK_EQ_INT(child.at(0).type, ZOO_CHILD_EVENT);
  CHECK_EQ_STR(child.at(0).path, "/ct/w");
  CHECK_RC(zoo_create(other, "/ct/w/c2", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, path, sizeof path), ZOK);

  EventLog deleted;
  len = sizeof buf;
  CHECK_RC(zoo_wget(zh, "/ct/x", record_event, &deleted, buf, &len, &st), ZOK);
  CHECK_RC(zoo_delete(other, "/ct/x", -1), ZOK);
  CHECK_EQ_INT(deleted.wait_count(1, 10s), 1);
  CHECK_EQ_INT(deleted.at(0).type, ZOO_DELETED_EVENT);
  CHECK_RC(zoo_create(other, "/ct/x", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, path, sizeof path), ZOK);

  // One-shot: the second change of each node fired nothing. A round trip on a's connection
  // after the changes were applied orders any (wrong) late event before its reply.
  sync_path(zh, "/ct");
  CHECK_EQ_STR(get_data(zh, "/ct/w"), "2");
  std::this_thread::sleep_for(300ms);
  CHECK_EQ_INT(data.wait_count(2, 0ms), 1);
  CHECK_EQ_INT(child.wait_count(2, 0ms), 1);
  CHECK_EQ_INT(created.wait_count(2, 0ms), 1);
  CHECK_EQ_INT(deleted.wait_count(2, 0ms), 1);
}

void test_sync(Ctx& t) {
  step("sync: a session on another server reads the latest write after sync");
  char path[128];
  for (int i = 0; i < 20; ++i) {
    const std::string value = "n" + std::to_string(i);
    CHECK_RC(zoo_create(t.a.zh, ("/ct/sync" + std::to_string(i)).c_str(), value.c_str(),
                        static_cast<int>(value.size()), &ZOO_OPEN_ACL_UNSAFE, 0, path, sizeof path),
             ZOK);
    sync_path(t.b.zh, path);
    CHECK_EQ_STR(get_data(t.b.zh, path), value);
  }
}

void test_close_removes_ephemerals(Ctx& t) {
  step("zookeeper_close ends the session at once: its ephemerals go");
  Client g;
  connect_into(g, t.hosts, 10000);
  char path[128];
  CHECK_RC(
      zoo_create(g.zh, "/ct/closed", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, path, sizeof path),
      ZOK);
  sync_path(t.a.zh, "/ct/closed");
  Stat st{};
  CHECK_RC(zoo_exists(t.a.zh, "/ct/closed", 0, &st), ZOK);
  CHECK_RC(zookeeper_close(g.zh), ZOK);
  // Far below the 10 s timeout: the close, not an expiry, removed it.
  const double took = wait_gone(t.a.zh, "/ct/closed", 3.0);
  std::printf("  ephemeral gone %.3f s after zookeeper_close\n", took);
}

void test_restart_connected_server(Ctx& t) {
  step("session survives kill -9 and restart of its server");
  zhandle_t* zh = t.a.zh;
  const int64_t session = zoo_client_id(zh)->client_id;
  const int port = connected_port(zh);
  CHECK(port > 0);
  // A watch set before the failure must survive it (the client re-sends it with SetWatches).
  EventLog data;
  char buf[64];
  int len = sizeof buf;
  Stat st{};
  CHECK_RC(zoo_wget(zh, "/ct/m1", record_event, &data, buf, &len, &st), ZOK);
  t.a.session.clear();
  const auto start = Clock::now();
  driver("kill9-restart " + std::to_string(port));
  if (!t.a.session.wait_state(ZOO_CONNECTING_STATE, 15s)) fail(__LINE__, "no disconnect seen");
  if (!t.a.session.wait_state(ZOO_CONNECTED_STATE, 30s)) fail(__LINE__, "no reconnect within 30 s");
  std::printf("  reconnected after %.2f s to port %d (was %d)\n", seconds_since(start),
              connected_port(zh), port);
  CHECK_EQ_INT(zoo_client_id(zh)->client_id, session);
  // If the killed server led, the ensemble may still be electing: calls can meet ConnectionLoss.
  CHECK_RC(retrying([&] { return zoo_exists(zh, "/ct/eph", 0, &st); }), ZOK);
  CHECK_EQ_INT(st.ephemeralOwner, session);
  CHECK_RC(retrying([&] { return zoo_exists(zh, "/ct/es-0000000004", 0, &st); }), ZOK);
  CHECK_RC(retrying([&] { return zoo_set(t.b.zh, "/ct/m1", "after-restart", 13, -1); }), ZOK);
  CHECK_EQ_INT(data.wait_count(1, 10s), 1);
  CHECK_EQ_INT(data.at(0).type, ZOO_CHANGED_EVENT);
  CHECK_EQ_STR(data.at(0).path, "/ct/m1");
  CHECK(!t.a.session.saw_state(ZOO_EXPIRED_SESSION_STATE));
  driver("wait-serving");  // the restarted server is back before the next step
}

void test_killed_client_expires(Ctx& t) {
  step("a SIGKILLed client's session expires and its ephemeral goes");
  const int timeout_ms = 1500;
  int out[2];
  CHECK(pipe(out) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  const std::string timeout = std::to_string(timeout_ms);
  std::vector<char*> argv = {t.self_exe.data(),
                             const_cast<char*>("--child-ephemeral"),
                             t.hosts.data(),
                             const_cast<char*>("/ct/child"),
                             const_cast<char*>(timeout.c_str()),
                             nullptr};
  pid_t pid = 0;
  CHECK(posix_spawn(&pid, t.self_exe.c_str(), &actions, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  FILE* child_out = fdopen(out[0], "r");
  char line[128] = {};
  if (std::fgets(line, sizeof line, child_out) == nullptr) {
    kill(pid, SIGKILL);
    fail(__LINE__, "child said nothing");
  }
  long long child_session = 0;
  int negotiated = 0;
  if (std::sscanf(line, "ready %llx %d", &child_session, &negotiated) != 2) {
    kill(pid, SIGKILL);
    fail(__LINE__, "child: %s", line);
  }
  Stat st{};
  sync_path(t.a.zh, "/ct/child");
  CHECK_RC(zoo_exists(t.a.zh, "/ct/child", 0, &st), ZOK);
  CHECK_EQ_INT(st.ephemeralOwner, child_session);
  CHECK(kill(pid, SIGKILL) == 0);
  int status = 0;
  CHECK(waitpid(pid, &status, 0) == pid);
  std::fclose(child_out);
  const double limit = negotiated / 1000.0 + 8.0;
  const double took = wait_gone(t.a.zh, "/ct/child", limit);
  std::printf("  ephemeral of the killed client gone after %.2f s (session timeout %.1f s)\n", took,
              negotiated / 1000.0);
  // Never before the client could have been silent for a third of its timeout (it pings
  // every third): the server must honour the negotiated timeout.
  CHECK(took > negotiated / 3000.0);
}

int child_ephemeral(const char* hosts, const char* path, int timeout_ms) {
  Client c;
  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  connect_into(c, hosts, timeout_ms);
  char created[128];
  CHECK_RC(
      zoo_create(c.zh, path, "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, created, sizeof created),
      ZOK);
  std::printf("ready %llx %d\n", static_cast<unsigned long long>(zoo_client_id(c.zh)->client_id),
              zoo_recv_timeout(c.zh));
  std::fflush(stdout);
  while (true) pause();  // until SIGKILL
}

void test_session_expired_event(Ctx& t) {
  step("a session closed elsewhere: the client sees ZOO_EXPIRED_SESSION_STATE");
  Client e;
  connect_into(e, t.hosts, 4000);
  char path[128];
  CHECK_RC(
      zoo_create(e.zh, "/ct/doomed", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, path, sizeof path),
      ZOK);
  // A second handle on the same session (id and password) closes it.
  Client f;
  connect_into(f, t.hosts, 4000, zoo_client_id(e.zh));
  CHECK_EQ_INT(zoo_client_id(f.zh)->client_id, zoo_client_id(e.zh)->client_id);
  CHECK_RC(zookeeper_close(f.zh), ZOK);
  if (!e.session.wait_state(ZOO_EXPIRED_SESSION_STATE, 20s)) {
    // The first handle may not notice until it talks to the server: make it.
    Stat st{};
    (void)zoo_exists(e.zh, "/ct", 0, &st);
    if (!e.session.wait_state(ZOO_EXPIRED_SESSION_STATE, 10s)) fail(__LINE__, "no expiry event");
  }
  CHECK_EQ_INT(zoo_state(e.zh), ZOO_EXPIRED_SESSION_STATE);
  Stat st{};
  CHECK_RC(zoo_exists(e.zh, "/ct", 0, &st), ZINVALIDSTATE);
  sync_path(t.a.zh, "/ct/doomed");
  CHECK_RC(zoo_exists(t.a.zh, "/ct/doomed", 0, &st), ZNONODE);
  zookeeper_close(e.zh);
}

void test_leader_failover(Ctx& t) {
  step("leader failover: kill -9 the leader, time until a write succeeds");
  zhandle_t* zh = t.a.zh;
  CHECK_RC(zoo_set(zh, "/ct", "before", 6, -1), ZOK);
  const std::string killed = driver("kill-leader");
  const auto start = Clock::now();
  int attempts = 0;
  while (true) {
    ++attempts;
    // A set with version -1 may be retried safely after ConnectionLoss.
    const int rc = zoo_set(zh, "/ct", "after", 5, -1);
    if (rc == ZOK) break;
    if (rc != ZCONNECTIONLOSS && rc != ZOPERATIONTIMEOUT)
      fail(__LINE__, "write failed: %s", zerror(rc));
    if (seconds_since(start) > 20)
      fail(__LINE__, "no successful write 20 s after killing the leader");
    std::this_thread::sleep_for(10ms);
  }
  const double took = seconds_since(start);
  std::printf("leader failover: %.2f s (killed server %s, %d attempts)\n", took, killed.c_str(),
              attempts);
  CHECK_EQ_STR(get_data(zh, "/ct"), "after");
  CHECK_EQ_INT(zoo_state(zh), ZOO_CONNECTED_STATE);
  Stat st{};
  CHECK_RC(zoo_exists(zh, "/ct/eph", 0, &st), ZOK);  // the session survived the failover
  driver("start " + killed);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::strcmp(argv[1], "--child-ephemeral") == 0) {
    return child_ephemeral(argv[2], argv[3], std::atoi(argv[4]));
  }
  if (argc != 2) {
    std::fprintf(stderr, "usage: c_client_test HOST:PORT,HOST:PORT,HOST:PORT\n");
    return 2;
  }
  zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
  Ctx t;
  t.hosts = argv[1];
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  CHECK(n > 0);
  t.self_exe.assign(exe, static_cast<size_t>(n));

  step("connect");
  connect_into(t.a, t.hosts, 8000);
  const int a_port = connected_port(t.a.zh);
  CHECK(a_port > 0);
  // Session b on the servers a is not connected to, so sync and watches cross servers.
  std::string others;
  size_t pos = 0;
  while (pos <= t.hosts.size()) {
    size_t comma = t.hosts.find(',', pos);
    if (comma == std::string::npos) comma = t.hosts.size();
    const std::string host = t.hosts.substr(pos, comma - pos);
    if (host.substr(host.rfind(':') + 1) != std::to_string(a_port))
      others += (others.empty() ? "" : ",") + host;
    pos = comma + 1;
  }
  connect_into(t.b, others, 8000);
  CHECK(connected_port(t.b.zh) != a_port);
  std::printf("  session a 0x%llx on port %d (timeout %d ms), b on port %d\n",
              static_cast<unsigned long long>(zoo_client_id(t.a.zh)->client_id), a_port,
              zoo_recv_timeout(t.a.zh), connected_port(t.b.zh));
  CHECK_EQ_INT(zoo_recv_timeout(t.a.zh), 8000);

  test_create(t);
  test_reads(t);
  test_versions(t);
  test_multi(t);
  test_acl(t);
  test_watches(t);
  test_sync(t);
  test_close_removes_ephemerals(t);
  test_restart_connected_server(t);
  test_killed_client_expires(t);
  test_session_expired_event(t);
  test_leader_failover(t);

  step("close");
  CHECK_RC(zookeeper_close(t.b.zh), ZOK);
  CHECK_RC(zookeeper_close(t.a.zh), ZOK);
  std::printf("c client test passed\n");
  return 0;
}
