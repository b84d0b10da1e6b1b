using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Underlay.BootStorm;

/// <summary>
/// A TFTP read (RFC 1350) as PXE firmware does it: RRQ with blksize (RFC 2348) and tsize (RFC 2349), optionally
/// windowsize (RFC 7440); ACK per block (or per window); resend the last ACK on a 1 s silence, give up after 8.
/// Returns the number of bytes received; the data itself is discarded.
/// </summary>
internal static class TftpFetch
{
    public static async Task<long> ReadAsync(IPAddress local, IPEndPoint server, string file, int blockSize, int windowSize, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(local, 0));
        var options = $"{file}\0octet\0blksize\0{blockSize}\0tsize\00\0" + (windowSize > 1 ? $"windowsize\0{windowSize}\0" : "");
        var rrq = new byte[2 + Encoding.ASCII.GetByteCount(options)];
        rrq[1] = 1;
        Encoding.ASCII.GetBytes(options, rrq.AsSpan(2));
        var ack = new byte[4];
        ack[1] = 4;
        var buffer = new byte[blockSize + 4 + 16];
        EndPoint peer = server;
        var lastSent = rrq;
        var lastTarget = (EndPoint)server;
        var expected = (ushort)1;
        var negotiatedBlock = 512;
        var negotiatedWindow = 1;
        long total = 0;
        var silence = 0;
        var inWindow = 0;
        await socket.SendToAsync(rrq, SocketFlags.None, server, cancellationToken);
        while (true)
        {
            SocketReceiveFromResult received;
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                wait.CancelAfter(TimeSpan.FromSeconds(1));
                try
                {
                    received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), wait.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    if (++silence > 8)
                    {
                        throw new TimeoutException($"TFTP {file}: no data after block {expected - 1}");
                    }

                    await socket.SendToAsync(lastSent, SocketFlags.None, lastTarget, cancellationToken);
                    continue;
                }
            }

            silence = 0;
            var packet = buffer.AsSpan(0, received.ReceivedBytes);
            peer = received.RemoteEndPoint;
            var opcode = BinaryPrimitives.ReadUInt16BigEndian(packet);
            switch (opcode)
            {
                case 6: // OACK
                    var fields = Encoding.ASCII.GetString(packet[2..]).Split('\0');
                    for (var i = 0; i + 1 < fields.Length; i += 2)
                    {
                        if (fields[i].Equals("blksize", StringComparison.OrdinalIgnoreCase))
                        {
                            negotiatedBlock = int.Parse(fields[i + 1], System.Globalization.CultureInfo.InvariantCulture);
                        }
                        else if (fields[i].Equals("windowsize", StringComparison.OrdinalIgnoreCase))
                        {
                            negotiatedWindow = int.Parse(fields[i + 1], System.Globalization.CultureInfo.InvariantCulture);
                        }
                    }

                    BinaryPrimitives.WriteUInt16BigEndian(ack.AsSpan(2), 0);
                    lastSent = ack.ToArray();
                    lastTarget = peer;
                    await socket.SendToAsync(lastSent, SocketFlags.None, peer, cancellationToken);
                    break;
                case 3: // DATA
                    var block = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
                    var length = packet.Length - 4;
                    if (block != expected)
                    {
                        // Out of order or a duplicate: acknowledge what we have, the server resends from there.
                        if (block != (ushort)(expected - 1))
                        {
                            inWindow = 0;
                            await socket.SendToAsync(lastSent, SocketFlags.None, peer, cancellationToken);
                        }

                        break;
                    }

                    total += length;
                    var last = length < negotiatedBlock;
                    BinaryPrimitives.WriteUInt16BigEndian(ack.AsSpan(2), block);
                    expected++;
                    if (last || ++inWindow >= negotiatedWindow)
                    {
                        inWindow = 0;
                        lastSent = ack.ToArray();
                        lastTarget = peer;
                        await socket.SendToAsync(lastSent, SocketFlags.None, peer, cancellationToken);
                    }

                    if (last)
                    {
                        return total;
                    }

                    break;
                case 5: // ERROR
                    throw new IOException($"TFTP {file}: error {BinaryPrimitives.ReadUInt16BigEndian(packet[2..])} {Encoding.ASCII.GetString(packet[4..]).TrimEnd('\0')}");
            }
        }
    }
}
