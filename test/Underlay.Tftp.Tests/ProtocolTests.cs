using System.Diagnostics;
using System.Net;
using System.Text;
using Underlay.Tftp.Files;
using Underlay.Tftp.Tests.Infrastructure;

namespace Underlay.Tftp.Tests;

/// <summary>
/// Protocol details driven by a hand-written UDP client (<see cref="RawTftpClient"/>): what real clients
/// cannot be made to do on purpose — lose ACKs, repeat them, talk from the wrong port, go silent.
/// </summary>
public sealed class ProtocolTests
{
    private static readonly TimeSpan s_quiet = TimeSpan.FromMilliseconds(300);

    private static byte[] Pattern(int length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)((i * 7) + (i >> 8));
        }

        return bytes;
    }

    /// <summary>A server that serves <paramref name="content"/> under any name (in memory: known length).</summary>
    private static Task<TestTftpServer> StartWithContentAsync(byte[] content, TftpServerOptions? options = null) =>
        TestTftpServer.StartAsync(options, _ => new DelegateFileSource((_, _) => TftpOpenResult.FromMemory(content)));

    [Fact]
    public async Task The_oack_lists_only_the_options_the_server_accepted()
    {
        var content = Pattern(5000);
        await using var server = await StartWithContentAsync(content);
        using var client = new RawTftpClient(server.Port);

        client.SendReadRequest("file", ("blksize", "1024"), ("tsize", "0"), ("timeout", "3"), ("windowsize", "4"), ("multicast", ""), ("x-vendor", "1"));
        var oack = await client.ExpectAsync();

        Assert.True(oack.IsOack, oack.ToString());
        Assert.Equal(
            new Dictionary<string, string> { ["blksize"] = "1024", ["tsize"] = "5000", ["timeout"] = "3", ["windowsize"] = "4" },
            oack.Options);
        client.SendAck(0);
        var (received, _) = await client.DownloadAsync(1024, 4);
        Assert.Equal(content, received);
    }

    [Fact]
    public async Task Option_names_are_matched_case_insensitively_and_echoed_as_sent()
    {
        await using var server = await StartWithContentAsync(Pattern(100));
        using var client = new RawTftpClient(server.Port);

        client.SendReadRequest("file", ("BlkSize", "64"));
        var oack = await client.ExpectAsync();

        Assert.Contains("BlkSize\0" + "64\0", Encoding.ASCII.GetString(oack.Bytes), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_options_alone_get_data_without_an_oack()
    {
        await using var server = await StartWithContentAsync(Pattern(700));
        using var client = new RawTftpClient(server.Port);

        client.SendReadRequest("file", ("rollover", "1"), ("utimeout", "100000"), ("foo", "bar"));

        var first = await client.ExpectDataAsync(1);
        Assert.Equal(512, first.Payload.Length);
    }

    [Fact]
    public async Task The_client_tsize_value_is_ignored_and_the_real_length_reported()
    {
        await using var server = await StartWithContentAsync(Pattern(123_456));
        using var client = new RawTftpClient(server.Port);

        client.SendReadRequest("file", ("tsize", "99"));

        Assert.Equal("123456", (await client.ExpectAsync()).Options["tsize"]);
    }

    [Fact]
    public async Task A_blksize_above_the_maximum_is_lowered_to_the_server_maximum()
    {
        await using var server = await StartWithContentAsync(Pattern(5000), new TftpServerOptions { MaxBlockSize = 1468 });
        using var client = new RawTftpClient(server.Port);

        client.SendReadRequest("file", ("blksize", "65464"));
        var oack = await client.ExpectAsync();
        client.SendAck(0);

        Assert.Equal("1468", oack.Options["blksize"]);
        Assert.Equal(1468, (await client.ExpectDataAsync(1)).Payload.Length);
    }

    [Fact]
    public async Task A_huge_blksize_saturates_instead_of_overflowing()
    {
        await using var server = await StartWithContentAsync(Pattern(5000));
        using var client = new RawTftpClient(server.Port);

        client.SendReadRequest("file", ("blksize", "99999999999999999999999"));

        Assert.Equal("65464", (await client.ExpectAsync()).Options["blksize"]);
    }

    [Theory]
    [InlineData("blksize", "7")]
    [InlineData("blksize", "0")]
    [InlineData("blksize", "abc")]
    [InlineData("blksize", "")]
    [InlineData("blksize", "-512")]
    [InlineData("windowsize", "0")]
    [InlineData("windowsize", "many")]
    [InlineData("timeout", "0")]
    [InlineData("timeout", "256")]
    public async Task An_invalid_option_value_is_refused_with_error_8(string option, string value)
    {
        await using var server = await StartWithContentAsync(Pattern(100));
        using var client = new RawTftpClient(server.Port);

        client.SendReadRequest("file", (option, value));
        var reply = await client.ExpectAsync();

        Assert.True(reply.IsError, reply.ToString());
        Assert.Equal((ushort)TftpErrorCode.OptionNegotiationFailed, reply.Number);
        Assert.Contains(option, reply.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(TftpTransferOutcome.Rejected, (await server.NextCompletedAsync()).Outcome);
    }

    [Fact]
    public async Task A_client_that_refuses_the_oack_with_error_8_ends_the_transfer_quietly()
    {
        // What PXE ROMs do to learn tsize before the real request.
        await using var server = await StartWithContentAsync(Pattern(4000));
        using var client = new RawTftpClient(server.Port);

        client.SendReadRequest("pxelinux.0", ("tsize", "0"));
        await client.ExpectAsync();
        client.SendToTransfer(RawTftpClient.BuildError(8, "tsize only"));

        var completed = await server.NextCompletedAsync();
        Assert.Equal(TftpTransferOutcome.AbortedByClient, completed.Outcome);
        Assert.Equal(TftpErrorCode.OptionNegotiationFailed, completed.ErrorCode);
        Assert.Equal(1, server.Counters.TransfersAbortedByClient);
        Assert.Equal(0, server.Counters.TransfersFailed);
        await client.ExpectSilenceAsync(s_quiet);
    }

    [Fact]
    public async Task A_lost_ack_makes_the_server_retransmit_the_same_block()
    {
        await using var server = await StartWithContentAsync(Pattern(1500), new TftpServerOptions { RetransmitTimeout = TimeSpan.FromMilliseconds(150) });
        using var client = new RawTftpClient(server.Port);
        client.SendReadRequest("file");

        var first = await client.ExpectDataAsync(1);
        var again = await client.ExpectDataAsync(1, TimeSpan.FromSeconds(2)); // our "ACK" was lost: no ACK sent

        Assert.Equal(first.Bytes, again.Bytes);
        var (rest, _) = await client.DownloadAsync(512, first: again);
        Assert.Equal(Pattern(1500), rest);
        var completed = await server.NextCompletedAsync();
        Assert.True(completed.Success);
        Assert.True(completed.Retransmissions >= 1);
        Assert.True(server.Counters.Retransmissions >= 1);
    }

    [Fact]
    public async Task The_retransmission_timeout_doubles_and_a_silent_client_is_given_up()
    {
        await using var server = await StartWithContentAsync(Pattern(2000), new TftpServerOptions
        {
            RetransmitTimeout = TimeSpan.FromMilliseconds(100),
            MaxRetransmits = 3,
        });
        using var client = new RawTftpClient(server.Port);
        client.SendReadRequest("file");

        // 1 send + 3 retransmissions at +100, +200, +400 ms, then ERROR 0 after another 800 ms.
        var arrivals = new List<long>();
        var clock = Stopwatch.StartNew();
        RawPacket packet;
        do
        {
            packet = await client.ExpectAsync(TimeSpan.FromSeconds(5));
            arrivals.Add(clock.ElapsedMilliseconds);
        }
        while (packet.IsData);

        Assert.Equal(5, arrivals.Count);
        Assert.True(packet.IsError && packet.Number == 0, packet.ToString());
        // Load can only delay a timer, never fire it early: lower bounds of 0.9 × 100/200/400/800 ms prove the
        // doubling (without backoff every gap would be ~100 ms).
        var gaps = arrivals.Zip(arrivals.Skip(1), (a, b) => b - a).ToArray();
        var nominal = new[] { 100, 200, 400, 800 };
        Assert.True(gaps.Zip(nominal).All(g => g.First >= g.Second * 0.9), "gaps: " + string.Join(", ", gaps));
        var completed = await server.NextCompletedAsync();
        Assert.Equal(TftpTransferOutcome.TimedOut, completed.Outcome);
        Assert.Equal(0, server.Counters.ActiveTransfers);
        Assert.Equal(1, server.Counters.TransfersFailed);
    }

    [Fact]
    public async Task Duplicate_acks_do_not_trigger_a_resend()
    {
        // RFC 1123 §4.2.3.1 (Sorcerer's Apprentice): never resend the current DATA on a duplicate ACK.
        await using var server = await StartWithContentAsync(Pattern(512 * 4), new TftpServerOptions { RetransmitTimeout = TimeSpan.FromSeconds(5) });
        using var client = new RawTftpClient(server.Port);
        client.SendReadRequest("file");
        await client.ExpectDataAsync(1);
        client.SendAck(1);
        await client.ExpectDataAsync(2);

        client.SendAck(1);
        client.SendAck(1);
        client.SendAck(1);
        await client.ExpectSilenceAsync(s_quiet);

        client.SendAck(2);
        var (rest, blocks) = await client.DownloadAsync(512, first: await client.ExpectDataAsync(3));
        Assert.Equal(new ushort[] { 3, 4, 5 }, blocks);
        Assert.Equal(3, server.Counters.DuplicateAcknowledgments);
        Assert.Equal(0, server.Counters.Retransmissions);
        Assert.Equal(5, server.Counters.PacketsSent);
        Assert.True((await server.NextCompletedAsync()).Success);
        Assert.Equal(1024, rest.Length);
    }

    [Fact]
    public async Task A_packet_from_another_port_gets_error_5_and_the_transfer_goes_on()
    {
        var content = Pattern((512 * 3) + 10);
        await using var server = await StartWithContentAsync(content, new TftpServerOptions { RetransmitTimeout = TimeSpan.FromSeconds(5) });
        using var client = new RawTftpClient(server.Port);
        using var stranger = new RawTftpClient(server.Port);
        client.SendReadRequest("file");
        var first = await client.ExpectDataAsync(1);

        stranger.SendTo(first.From, RawTftpClient.BuildAck(1));
        var rejection = await stranger.ExpectAsync();

        Assert.True(rejection.IsError && rejection.Number == (ushort)TftpErrorCode.UnknownTransferId, rejection.ToString());
        Assert.Equal(first.From, rejection.From);
        await client.ExpectSilenceAsync(s_quiet); // the stranger's ACK 1 did not move the transfer on
        var (received, _) = await client.DownloadAsync(512, first: first);
        Assert.Equal(content, received);
        Assert.Equal(1, server.Counters.UnknownTransferIdPackets);
        Assert.Equal(1, server.Counters.GetErrorsSent(TftpErrorCode.UnknownTransferId));
        Assert.True((await server.NextCompletedAsync()).Success);
    }

    [Fact]
    public async Task An_error_from_a_stranger_is_not_answered_and_does_not_end_the_transfer()
    {
        await using var server = await StartWithContentAsync(Pattern(600), new TftpServerOptions { RetransmitTimeout = TimeSpan.FromSeconds(5) });
        using var client = new RawTftpClient(server.Port);
        using var stranger = new RawTftpClient(server.Port);
        client.SendReadRequest("file");
        var first = await client.ExpectDataAsync(1);

        stranger.SendTo(first.From, RawTftpClient.BuildError(0, "go away"));

        await stranger.ExpectSilenceAsync(s_quiet);
        var (received, _) = await client.DownloadAsync(512, first: first);
        Assert.Equal(Pattern(600), received);
    }

    [Fact]
    public async Task The_window_is_sent_as_a_burst_and_acknowledged_once()
    {
        await using var server = await StartWithContentAsync(Pattern(100), new TftpServerOptions { RetransmitTimeout = TimeSpan.FromSeconds(5) });
        using var client = new RawTftpClient(server.Port);
        client.SendReadRequest("file", ("blksize", "8"), ("windowsize", "4"));
        Assert.True((await client.ExpectAsync()).IsOack);
        client.SendAck(0);

        for (ushort block = 1; block <= 4; block++)
        {
            await client.ExpectDataAsync(block);
        }

        await client.ExpectSilenceAsync(s_quiet);
        client.SendAck(4);
        for (ushort block = 5; block <= 8; block++)
        {
            await client.ExpectDataAsync(block);
        }
    }

    [Theory]
    [InlineData(8192, 16, 65536, "8")]
    [InlineData(1468, 64, 65536, "44")]
    [InlineData(512, 16, 4096, "8")]
    [InlineData(65464, 4, 65536, null)]
    public async Task The_windowsize_is_lowered_so_a_window_fits_max_window_bytes(int blockSize, int windowSize, int maxWindowBytes, string? granted)
    {
        await using var server = await StartWithContentAsync(Pattern(100), new TftpServerOptions { MaxWindowBytes = maxWindowBytes });
        using var client = new RawTftpClient(server.Port);

        client.SendReadRequest("file", ("windowsize", windowSize.ToString()), ("blksize", blockSize.ToString()));
        var oack = await client.ExpectAsync();

        Assert.Equal(granted, oack.Options.GetValueOrDefault("windowsize"));
        Assert.Equal(blockSize.ToString(), oack.Options["blksize"]);
    }

    [Fact]
    public async Task A_window_sent_in_one_segmented_send_arrives_as_separate_blocks()
    {
        // blksize 512 × windowsize 8: on Linux one UDP_SEGMENT send carries the window; the client must still see
        // eight datagrams with their own headers, the last one short.
        var content = Pattern((512 * 7) + 100);
        await using var server = await StartWithContentAsync(content, new TftpServerOptions { RetransmitTimeout = TimeSpan.FromSeconds(5) });
        using var client = new RawTftpClient(server.Port);
        client.SendReadRequest("file", ("blksize", "512"), ("windowsize", "8"));
        await client.ExpectAsync();
        client.SendAck(0);

        var received = new MemoryStream();
        for (ushort block = 1; block <= 8; block++)
        {
            var packet = await client.ExpectDataAsync(block);
            Assert.Equal(block < 8 ? 512 : 100, packet.Payload.Length);
            received.Write(packet.Payload);
        }

        client.SendAck(8);
        Assert.Equal(content, received.ToArray());
        Assert.True((await server.NextCompletedAsync()).Success);
    }

    [Fact]
    public async Task An_ack_inside_the_window_continues_from_the_next_block()
    {
        // RFC 7440 §4: the receiver ACKs the last block it got in order; the sender goes on from there.
        var content = Pattern(100);
        await using var server = await StartWithContentAsync(content, new TftpServerOptions { RetransmitTimeout = TimeSpan.FromSeconds(5) });
        using var client = new RawTftpClient(server.Port);
        client.SendReadRequest("file", ("blksize", "8"), ("windowsize", "4"));
        await client.ExpectAsync();
        client.SendAck(0);
        for (ushort block = 1; block <= 4; block++)
        {
            await client.ExpectDataAsync(block);
        }

        client.SendAck(2); // blocks 3 and 4 "lost"

        for (ushort block = 3; block <= 6; block++)
        {
            Assert.Equal(content.AsSpan((block - 1) * 8, 8).ToArray(), (await client.ExpectDataAsync(block)).Payload.ToArray());
        }

        await client.ExpectSilenceAsync(s_quiet);
        Assert.Equal(2, server.Counters.Retransmissions);
    }

    [Fact]
    public async Task A_duplicate_ack_before_the_window_restarts_it_once_and_later_duplicates_are_ignored()
    {
        await using var server = await StartWithContentAsync(Pattern(200), new TftpServerOptions { RetransmitTimeout = TimeSpan.FromSeconds(5) });
        using var client = new RawTftpClient(server.Port);
        client.SendReadRequest("file", ("blksize", "8"), ("windowsize", "4"));
        await client.ExpectAsync();
        client.SendAck(0);
        for (ushort block = 1; block <= 4; block++)
        {
            await client.ExpectDataAsync(block);
        }

        client.SendAck(4);
        for (ushort block = 5; block <= 8; block++)
        {
            await client.ExpectDataAsync(block);
        }

        // The client reports that block 5 never arrived (atftp's one "extra ACK" for the last in-order block).
        client.SendAck(4);
        for (ushort block = 5; block <= 8; block++)
        {
            await client.ExpectDataAsync(block);
        }

        // Now blocks 5-8 went out twice, so a further ACK 4 could be an echo of that: ignored, the timer decides.
        client.SendAck(4);
        await client.ExpectSilenceAsync(s_quiet);
        client.SendAck(8);
        await client.ExpectDataAsync(9);
        Assert.Equal(1, server.Counters.DuplicateAcknowledgments);
    }

    [Fact]
    public async Task Block_numbers_wrap_from_65535_to_0()
    {
        // 65,600 blocks of 8 bytes: the counter passes 65535 and continues at 0, as tftpd-hpa and the clients expect.
        var content = Pattern((65_600 * 8) - 3);
        await using var server = await StartWithContentAsync(content);
        using var client = new RawTftpClient(server.Port);
        client.SendReadRequest("file", ("blksize", "8"), ("windowsize", "64"));
        await client.ExpectAsync();
        client.SendAck(0);

        var received = new MemoryStream();
        var sequence = new List<ushort>();
        var inWindow = 0;
        while (true)
        {
            var packet = await client.ExpectAsync();
            Assert.True(packet.IsData, packet.ToString());
            received.Write(packet.Payload);
            sequence.Add(packet.Number);
            var last = packet.Payload.Length < 8;
            if (++inWindow == 64 || last)
            {
                client.SendAck(packet.Number);
                inWindow = 0;
            }

            if (last)
            {
                break;
            }
        }

        Assert.Equal(content, received.ToArray());
        Assert.Equal(65_600, sequence.Count);
        Assert.Equal(new ushort[] { 65534, 65535, 0, 1, 2 }, sequence.Skip(65_533).Take(5));
        Assert.Equal(0, server.Counters.Retransmissions);
        Assert.True((await server.NextCompletedAsync()).Success);
    }

    [Fact]
    public async Task An_error_from_the_client_ends_the_transfer_without_an_answer()
    {
        await using var server = await StartWithContentAsync(Pattern(5000));
        using var client = new RawTftpClient(server.Port);
        client.SendReadRequest("file");
        await client.ExpectDataAsync(1);

        client.SendToTransfer(RawTftpClient.BuildError(0, "disk full here"));

        var completed = await server.NextCompletedAsync();
        Assert.Equal(TftpTransferOutcome.AbortedByClient, completed.Outcome);
        Assert.Equal("disk full here", completed.ErrorMessage);
        await client.ExpectSilenceAsync(s_quiet);
    }

    [Fact]
    public async Task A_data_packet_from_the_client_is_an_illegal_operation()
    {
        await using var server = await StartWithContentAsync(Pattern(5000));
        using var client = new RawTftpClient(server.Port);
        client.SendReadRequest("file");
        await client.ExpectDataAsync(1);

        client.SendToTransfer([0, 3, 0, 1, 42]);
        var reply = await client.ExpectAsync();

        Assert.True(reply.IsError && reply.Number == (ushort)TftpErrorCode.IllegalOperation, reply.ToString());
        Assert.Equal(TftpTransferOutcome.ProtocolError, (await server.NextCompletedAsync()).Outcome);
    }

    [Theory]
    [InlineData(new byte[] { 0, 4, 0, 1 })]       // ACK
    [InlineData(new byte[] { 0, 3, 0, 1, 9 })]    // DATA
    [InlineData(new byte[] { 0, 6, 0 })]          // OACK
    [InlineData(new byte[] { 0, 9, 1, 2 })]       // no such opcode
    public async Task Anything_but_a_request_on_the_listening_port_gets_error_4(byte[] packet)
    {
        await using var server = await StartWithContentAsync(Pattern(10));
        using var client = new RawTftpClient(server.Port);

        client.SendToServer(packet);
        var reply = await client.ExpectAsync();

        Assert.True(reply.IsError && reply.Number == (ushort)TftpErrorCode.IllegalOperation, reply.ToString());
        Assert.Equal(server.Port, reply.From.Port);
    }

    [Fact]
    public async Task An_error_packet_on_the_listening_port_is_not_answered()
    {
        await using var server = await StartWithContentAsync(Pattern(10));
        using var client = new RawTftpClient(server.Port);

        client.SendToServer(RawTftpClient.BuildError(0, "hello"));
        client.SendToServer([1]);

        await client.ExpectSilenceAsync(s_quiet);
        Assert.Equal(1, server.Counters.MalformedPackets);
    }

    [Theory]
    [InlineData(new byte[] { 0, 1, (byte)'f', 0, (byte)'o', (byte)'c', (byte)'t', (byte)'e', (byte)'t' })] // mode not terminated
    [InlineData(new byte[] { 0, 1, (byte)'f' })]                                                             // name not terminated
    [InlineData(new byte[] { 0, 1, (byte)'f', 0, (byte)'m', (byte)'a', (byte)'i', (byte)'l', 0 })]           // mode "mail"
    [InlineData(new byte[] { 0, 1, (byte)'f', 0, (byte)'x', 0 })]                                            // unknown mode
    [InlineData(new byte[] { 0, 1, 0xC3, 0x28, 0, (byte)'o', (byte)'c', (byte)'t', (byte)'e', (byte)'t', 0 })] // invalid UTF-8
    public async Task A_malformed_request_gets_error_4(byte[] request)
    {
        await using var server = await StartWithContentAsync(Pattern(10));
        using var client = new RawTftpClient(server.Port);

        client.SendToServer(request);
        var reply = await client.ExpectAsync();

        Assert.True(reply.IsError && reply.Number == (ushort)TftpErrorCode.IllegalOperation, reply.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("/")]
    [InlineData("./.")]
    public async Task An_empty_file_name_gets_an_access_violation(string name)
    {
        await using var server = await StartWithContentAsync(Pattern(10));
        using var client = new RawTftpClient(server.Port);

        client.SendReadRequest(name);
        var reply = await client.ExpectAsync();

        Assert.True(reply.IsError && reply.Number == (ushort)TftpErrorCode.AccessViolation, reply.ToString());
    }

    [Fact]
    public async Task A_write_request_gets_an_access_violation_from_a_new_transfer_id()
    {
        await using var server = await StartWithContentAsync(Pattern(10));
        using var client = new RawTftpClient(server.Port);

        client.SendToServer(RawTftpClient.BuildRequest(2, "upload.bin", "octet"));
        var reply = await client.ExpectAsync();

        Assert.True(reply.IsError && reply.Number == (ushort)TftpErrorCode.AccessViolation, reply.ToString());
        Assert.NotEqual(server.Port, reply.From.Port);
    }

    [Fact]
    public async Task A_repeated_request_from_the_same_port_does_not_start_a_second_transfer()
    {
        await using var server = await StartWithContentAsync(Pattern(100), new TftpServerOptions { RetransmitTimeout = TimeSpan.FromSeconds(5) });
        using var client = new RawTftpClient(server.Port);

        client.SendReadRequest("file");
        client.SendReadRequest("file");
        var first = await client.ExpectDataAsync(1);
        await client.ExpectSilenceAsync(s_quiet);
        client.SendAck(1);

        Assert.True((await server.NextCompletedAsync()).Success);
        await server.WaitUntilIdleAsync();
        Assert.Empty(server.Completed);
        Assert.Equal(1, server.Counters.TransfersCompleted);
        Assert.Equal(100, first.Payload.Length);
        Assert.Equal(2, server.Counters.Requests);
    }

    [Fact]
    public async Task A_client_that_reuses_its_port_for_the_next_request_gets_a_new_transfer()
    {
        // tftp-hpa's interactive mode (and some boot ROMs) send the next RRQ from the same port right after the
        // final ACK, possibly before the finished transfer has released its resources.
        var content = Pattern(1000);
        await using var server = await StartWithContentAsync(content);
        using var client = new RawTftpClient(server.Port);

        for (var i = 0; i < 20; i++)
        {
            client.SendReadRequest("file");
            var (received, _) = await client.DownloadAsync(512, first: await client.ExpectDataAsync(1));
            Assert.Equal(content, received);
        }

        await server.WaitUntilIdleAsync();
        Assert.Equal(20, server.Counters.TransfersCompleted);
    }

    [Fact]
    public async Task Requests_beyond_the_concurrency_limit_get_server_busy()
    {
        await using var server = await StartWithContentAsync(Pattern(5000), new TftpServerOptions
        {
            MaxConcurrentTransfers = 1,
            RetransmitTimeout = TimeSpan.FromSeconds(5),
        });
        using var first = new RawTftpClient(server.Port);
        using var second = new RawTftpClient(server.Port);
        first.SendReadRequest("file");
        await first.ExpectDataAsync(1);

        second.SendReadRequest("file");
        var busy = await second.ExpectAsync();

        Assert.True(busy.IsError && busy.Number == 0, busy.ToString());
        Assert.Contains("busy", busy.ErrorMessage, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(1, server.Counters.RequestsRejected);
    }

    [Fact]
    public async Task Stopping_the_server_ends_running_transfers_with_an_error()
    {
        var server = await StartWithContentAsync(Pattern(5000), new TftpServerOptions { RetransmitTimeout = TimeSpan.FromSeconds(30) });
        using var client = new RawTftpClient(server.Port);
        client.SendReadRequest("file");
        await client.ExpectDataAsync(1);

        var clock = Stopwatch.StartNew();
        await server.Server.StopAsync(TestContext.Current.CancellationToken);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
        var reply = await client.ExpectAsync();
        Assert.True(reply.IsError && reply.Number == 0, reply.ToString());
        Assert.Equal(TftpTransferOutcome.Cancelled, (await server.NextCompletedAsync()).Outcome);
        Assert.Equal(0, server.Counters.ActiveTransfers);
        await server.DisposeAsync();
    }

    [Fact]
    public async Task Replies_come_from_the_address_the_request_was_sent_to()
    {
        // The server listens on every address; the client talks to 127.0.0.2 (also loopback on Linux). The
        // transfer socket must answer from 127.0.0.2, and the file source must see it as the local address.
        var target = IPAddress.Parse("127.0.0.2");
        TftpRequestContext? seen = null;
        await using var server = await TestTftpServer.StartAsync(
            source: _ => new DelegateFileSource((_, context) =>
            {
                seen = context;
                return TftpOpenResult.FromMemory(Pattern(10));
            }),
            bind: IPAddress.Any);
        using var client = new RawTftpClient(server.Port, target);

        client.SendReadRequest("file");
        var data = await client.ExpectDataAsync(1);
        client.SendAck(1);

        Assert.Equal(target, data.From.Address);
        Assert.NotEqual(server.Port, data.From.Port);
        Assert.NotNull(seen);
        Assert.Equal(target, seen.LocalAddress);
        Assert.Equal(client.LocalEndPoint, seen.RemoteEndPoint);
        Assert.True(seen.InterfaceIndex > 0);
        Assert.Equal(target, (await server.NextCompletedAsync()).LocalAddress);
    }

    [Fact]
    public async Task A_dual_stack_server_serves_ipv6_and_ipv4_clients()
    {
        if (!System.Net.Sockets.Socket.OSSupportsIPv6)
        {
            Assert.Skip("IPv6 is not available on this machine.");
        }

        var content = Pattern(3000);
        await using var server = await TestTftpServer.StartAsync(
            source: _ => new DelegateFileSource((_, _) => TftpOpenResult.FromMemory(content)),
            bind: IPAddress.IPv6Any);
        using var v6 = new RawTftpClient(server.Port, IPAddress.IPv6Loopback);
        using var v4 = new RawTftpClient(server.Port, IPAddress.Loopback);

        v6.SendReadRequest("file", ("blksize", "1024"));
        v4.SendReadRequest("file");
        var oack = await v6.ExpectAsync();
        v6.SendAck(0);
        var (overV6, _) = await v6.DownloadAsync(1024);
        var (overV4, _) = await v4.DownloadAsync(512);

        Assert.True(oack.IsOack);
        Assert.Equal(IPAddress.IPv6Loopback, oack.From.Address);
        Assert.Equal(content, overV6);
        Assert.Equal(content, overV4);
    }
}
