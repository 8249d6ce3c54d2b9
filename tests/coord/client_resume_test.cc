// CoordClient resuming a session by id and password (ZooKeeper's constructor with sessionId and
// sessionPasswd) against a simulated ensemble: before the expiry the session and its
// ephemerals live on; after it the server says expired and the client ends Expired.
#include <gtest/gtest.h>

#include "coord/client/client.h"
#include "tests/coord/server_test_util.h"

namespace weir::coord::server::testing {
namespace {

namespace cc = coord::client;

TEST(CoordClientResume, BeforeExpiryTheSessionLivesOnAfterItIsExpired) {
  Ensemble e(7);
  bool done = e.run([&] {
    e.wait_ready();
    const cc::CoordClientOptions base{.session_timeout = 2s, .request_timeout = 2s};
    auto first = cc::CoordClient::create(e.connect_string(), base);
    ASSERT_TRUE(first.ok());
    ASSERT_TRUE(
        await((*first)->create("/mine", "", cc::open_acl_unsafe(), cc::CreateMode::kEphemeral))
            .ok());
    const auto session = (*first)->session_id();
    const std::string password = (*first)->session_password();
    first->reset();  // walks away: no closeSession

    delay(500ms);  // well within the 2 s timeout
    cc::CoordClientOptions resume = base;
    resume.resume_session_id = session;
    resume.resume_password = password;
    auto back = cc::CoordClient::create(e.connect_string(), resume);
    ASSERT_TRUE(back.ok());
    ASSERT_TRUE(await((*back)->await_state(cc::SessionState::kConnected, 5s)).ok());
    EXPECT_EQ((*back)->session_id(), session);
    auto still = await((*back)->exists("/mine"));
    ASSERT_TRUE(still.ok());
    EXPECT_TRUE(still->has_value()) << "the resumed session's ephemeral is gone";
    back->reset();

    delay(5s);  // past the timeout: the leader expires the session
    auto late = cc::CoordClient::create(e.connect_string(), resume);
    ASSERT_TRUE(late.ok());
    (void)await((*late)->await_state(cc::SessionState::kConnected, 5s));
    EXPECT_EQ((*late)->state(), cc::SessionState::kExpired);
    auto fresh = cc::CoordClient::create(e.connect_string(), base);
    ASSERT_TRUE(fresh.ok());
    auto gone = await((*fresh)->exists("/mine"));
    ASSERT_TRUE(gone.ok());
    EXPECT_FALSE(gone->has_value());
    (void)await((*fresh)->close());
  });
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace weir::coord::server::testing
