using System.Net;
using System.Net.Sockets;

namespace RankEngine.Tests.Support;

/// <summary>Free loopback TCP ports for servers a test starts.</summary>
public static class LoopbackPorts
{
    /// <summary>
    /// <paramref name="count"/> distinct ports nobody listens on right now (all bound at once, so they differ; released
    /// before returning, so another process could still take one).
    /// </summary>
    public static int[] Free(int count)
    {
        var listeners = new TcpListener[count];
        try
        {
            var ports = new int[count];
            for (int i = 0; i < count; i++)
            {
                listeners[i] = new TcpListener(IPAddress.Loopback, 0);
                listeners[i].Start();
                ports[i] = ((IPEndPoint)listeners[i].LocalEndpoint).Port;
            }
            return ports;
        }
        finally
        {
            foreach (var listener in listeners) listener?.Stop();
        }
    }
}
