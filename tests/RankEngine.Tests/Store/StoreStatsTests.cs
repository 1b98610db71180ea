using RankEngine.Store;
using Xunit;

namespace RankEngine.Tests.Store;

/// <summary>
/// The store's counts and sizes for metrics: users counted exactly through puts, event appends and deletes, and
/// recounted at open from what was recovered (checkpoint or log replay); checkpoint timing.
/// </summary>
public sealed class StoreStatsTests
{
    [Fact]
    public void UsersAreCountedThroughWritesDeletesAndReopening()
    {
        using var dir = new TempDirectory();
        using (var store = RankStore.Open(StoreTestKit.Options(dir.Path, checkpointOnDispose: false)))
        {
            Assert.Equal(0, store.UserCount);
            store.UpsertUser(new UserRecord("a"));
            store.UpsertUser(new UserRecord("a")); // the same user again
            store.AppendUserEvent("b", new UserEvent("i", UserEventKind.Like, 1f, 1)); // creates b
            store.AppendUserEvent("b", new UserEvent("i", UserEventKind.Click, 1f, 2));
            store.AppendUserEvent("c", new UserEvent("i", UserEventKind.View, 1f, 3));
            Assert.Equal(3, store.UserCount);
            Assert.True(store.DeleteUser("c"));
            Assert.False(store.DeleteUser("c"));
            Assert.False(store.DeleteUser("never"));
            Assert.Equal(2, store.UserCount);
            var stats = store.GetStats();
            Assert.Equal(2, stats.Users);
            Assert.Null(stats.LastCheckpointAt);
            Assert.True(stats.WalBytes > 0 && stats.HybridLogBytes > 0 && stats.DiskBytes > 0);
        }
        // Reopened from the log alone (no checkpoint was taken).
        using (var store = RankStore.Open(StoreTestKit.Options(dir.Path)))
        {
            Assert.Equal(2, store.UserCount);
            store.AppendUserEvent("d", new UserEvent("i", UserEventKind.View, 1f, 4));
            store.Checkpoint();
            var stats = store.GetStats();
            Assert.Equal(3, stats.Users);
            Assert.Equal(1, stats.Checkpoints);
            Assert.NotNull(stats.LastCheckpointAt);
            Assert.True(stats.LastCheckpointDuration > TimeSpan.Zero);
            Assert.True(store.DeleteUser("a"));
        }
        // Reopened from the checkpoint plus the delete after it.
        using (var store = RankStore.Open(StoreTestKit.Options(dir.Path)))
            Assert.Equal(2, store.UserCount);
    }
}
