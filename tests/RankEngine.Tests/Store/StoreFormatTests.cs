using RankEngine.Store;
using Xunit;

namespace RankEngine.Tests.Store;

/// <summary>
/// Golden tests: the persisted formats (record values, write-ahead-log entries, schema file) and persisted enum
/// values are frozen. The expected bytes are worked out by hand from Store/FORMAT.md, not produced by the code.
/// </summary>
public class StoreFormatTests
{
    private static readonly StoreSchema Schema = new(
        new VectorSpec("a", 2, VectorElementType.Float32),
        new VectorSpec("b", 3, VectorElementType.Float16));

    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "").Replace("\n", ""));

    [Fact]
    public void Item_value_layout_v1_is_frozen()
    {
        var item = new ItemRecord("k") { Text = "yo" };
        item.Vectors["b"] = [0.5f, 1f, -2f];
        item.Vectors["a"] = [1f, -2f];
        item.Fields["t"] = FieldValue.Tags("x");
        item.Fields["s"] = FieldValue.String("hi");
        item.Fields["n"] = FieldValue.Num(1.5);

        byte[] expected = Hex(
            "01 01 0200 28000000 46000000 00000000" +   // version 1, item, 2 slots, fields at 40, text at 70, reserved
            "18000000 20000000" +                       // slot a at 24, slot b at 32
            "0000803F 000000C0" +                       // a = 1.0f, -2.0f
            "0038 003C 00C0 0000" +                     // b = 0.5, 1.0, -2.0 as fp16, padded to 4 bytes
            "0300" +                                    // 3 fields, ordinal name order
            "02 01 6E 000000000000F83F" +               // n: number 1.5
            "01 01 73 02000000 6869" +                  // s: string "hi"
            "03 01 74 0100 0100 78" +                   // t: tags ["x"]
            "02000000 796F");                           // text "yo"
        byte[] buffer = ItemCodec.Encode(item, Schema, out int length);
        Assert.Equal(expected, buffer.AsSpan(0, length).ToArray());

        var decoded = ItemCodec.Decode("k", expected, Schema);
        Assert.Equal([1f, -2f], decoded.Vectors["a"]);
        Assert.Equal([0.5f, 1f, -2f], decoded.Vectors["b"]);
        Assert.Equal("yo", decoded.Text);
        Assert.Equal(FieldValue.Num(1.5), decoded.Fields["n"]);
        Assert.Equal(FieldValue.Tags("x"), decoded.Fields["t"]);
    }

    [Fact]
    public void User_value_layout_v1_is_frozen()
    {
        var user = new UserRecord("u") { Bucket = 1 };
        user.Vectors["a"] = [1f, -2f];
        user.Events.Add(new UserEvent("i", UserEventKind.Like, 0.5f, 1000));

        byte[] expected = Hex(
            "01 02 0200 01000000 20000000 00000000" +   // version 1, user, 2 slots, bucket 1, events at 32, reserved
            "18000000 00000000" +                       // slot a at 24, slot b absent
            "0000803F 000000C0" +                       // a
            "0100" +                                    // 1 event
            "03 00 0100 0000003F E803000000000000 69"); // Like, reserved, id length 1, weight 0.5, t = 1000, "i"
        byte[] buffer = UserCodec.Encode(user, Schema, maxEvents: 100, bucketCount: 2, out int length);
        Assert.Equal(expected, buffer.AsSpan(0, length).ToArray());
        var decoded = UserCodec.Decode("u", expected, Schema);
        Assert.Equal(user.Events, decoded.Events);
        Assert.Equal(1, decoded.Bucket);
    }

    [Fact]
    public void Write_ahead_log_entry_v1_is_frozen()
    {
        var buffer = new byte[16];
        int n = WriteAheadLog.EncodeEntry(buffer, WalOp.DeleteItem, [0x01, 0x6B], []);
        Assert.Equal(Hex("01 02 0200 016B"), buffer.AsSpan(0, n).ToArray());
        n = WriteAheadLog.EncodeEntry(buffer, WalOp.PutUser, [0x02, 0x75], [0xAA, 0xBB]);
        Assert.Equal(Hex("01 03 0200 0275 AABB"), buffer.AsSpan(0, n).ToArray());
    }

    [Fact]
    public void Keys_are_kind_byte_then_utf8()
    {
        var buffer = new byte[StoreKeys.MaxKeyScratch];
        int n = StoreKeys.Encode(RecordKind.User, "é1", buffer);
        Assert.Equal(Hex("02 C3A9 31"), buffer.AsSpan(0, n).ToArray());
    }

    [Fact]
    public void Schema_file_v1_is_frozen()
    {
        byte[] expected = Hex("524B5343 0100 0200 01 61 02000000 01 01 62 03000000 02");
        Assert.Equal(expected, Schema.Serialize());
        Assert.True(StoreSchema.Deserialize(expected, "test").IsSameAs(Schema));
        Assert.Throws<InvalidDataException>(() => StoreSchema.Deserialize(expected.AsSpan(0, 12), "test"));
    }

    [Fact]
    public void Persisted_enum_values_are_frozen()
    {
        Assert.Equal(new byte[] { 1, 2 }, Enum.GetValues<VectorElementType>().Select(v => (byte)v));
        Assert.Equal(new byte[] { 1, 2, 3 }, Enum.GetValues<FieldKind>().Select(v => (byte)v));
        Assert.Equal(
            // Value 1 was named Impression before the ranking layer settled on "view"; the persisted byte is unchanged.
            new (string, byte)[] { ("View", 1), ("Click", 2), ("Like", 3), ("Dislike", 4), ("Purchase", 5), ("Skip", 6) },
            Enum.GetValues<UserEventKind>().Select(v => (v.ToString(), (byte)v)));
        Assert.Equal(
            new (string, byte)[] { ("PutItem", 1), ("DeleteItem", 2), ("PutUser", 3), ("DeleteUser", 4) },
            Enum.GetValues<WalOp>().Select(v => (v.ToString(), (byte)v)));
        Assert.Equal(new byte[] { 1, 2 }, Enum.GetValues<RecordKind>().Select(v => (byte)v));
    }
}
