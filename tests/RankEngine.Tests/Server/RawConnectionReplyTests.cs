using System.Text;
using Xunit;

namespace RankEngine.Tests.Server;

/// <summary><see cref="RawConnection.ReplyEnd"/>: where one reply ends, for every RESP2/RESP3 type, nested, or -1 while incomplete.</summary>
public sealed class RawConnectionReplyTests
{
    [Theory]
    [InlineData("+OK\r\n")]
    [InlineData("-ERR no\r\n")]
    [InlineData(":-12\r\n")]
    [InlineData(",1.5\r\n")]
    [InlineData("_\r\n")]
    [InlineData("#t\r\n")]
    [InlineData("(3492890328409238509324850943850943825024385\r\n")]
    [InlineData("$-1\r\n")]
    [InlineData("$0\r\n\r\n")]
    [InlineData("$4\r\na\r\nb\r\n")] // CRLF inside a bulk string is data
    [InlineData("!3\r\nbad\r\n")]
    [InlineData("=8\r\ntxt:abcd\r\n")]
    [InlineData("*-1\r\n")]
    [InlineData("*0\r\n")]
    [InlineData("*2\r\n$1\r\na\r\n*1\r\n:1\r\n")]
    [InlineData("~2\r\n+a\r\n+b\r\n")]
    [InlineData(">2\r\n$7\r\nmessage\r\n$2\r\nhi\r\n")]
    [InlineData("%2\r\n$1\r\nk\r\n,1\r\n$1\r\nm\r\n%1\r\n+x\r\n_\r\n")]
    [InlineData("|1\r\n+ttl\r\n:3\r\n$2\r\nok\r\n")] // an attribute and the reply it annotates
    public void Finds_the_end_of_one_reply_and_waits_for_the_rest(string reply)
    {
        var bytes = Encoding.UTF8.GetBytes(reply + "+NEXT\r\n");
        Assert.Equal(Encoding.UTF8.GetByteCount(reply), RawConnection.ReplyEnd(bytes, 0));
        for (int cut = 0; cut < Encoding.UTF8.GetByteCount(reply); cut++)
            Assert.Equal(-1, RawConnection.ReplyEnd(bytes.AsSpan(0, cut), 0));
    }

    [Fact]
    public void Refuses_bytes_that_are_no_reply()
    {
        Assert.Throws<InvalidDataException>(() => RawConnection.ReplyEnd("?what\r\n"u8, 0));
        Assert.Throws<InvalidDataException>(() => RawConnection.ReplyEnd("$2\r\nabcd\r\n"u8, 0));
        Assert.Throws<InvalidDataException>(() => RawConnection.ReplyEnd("*x\r\n"u8, 0));
    }
}
