using Xunit;
using RankEngine.Store;

namespace RankEngine.Tests.Store;

public class StoreSmokeTests
{
    [Fact]
    public void Open_write_read_reopen()
    {
        using var dir = new TempDirectory();
        var item = StoreTestKit.Item("a1");
        using (var store = RankStore.Open(StoreTestKit.Options(dir.Path)))
        {
            store.UpsertItem(item);
            Assert.True(store.TryGetItem("a1", out var got));
            StoreTestKit.AssertSameItem(item, got, StoreTestKit.Schema);
        }
        using (var store = RankStore.Open(StoreTestKit.Options(dir.Path)))
        {
            Assert.True(store.TryGetItem("a1", out var got));
            StoreTestKit.AssertSameItem(item, got, StoreTestKit.Schema);
            Assert.Equal(1, store.ItemCount);
        }
    }
}
