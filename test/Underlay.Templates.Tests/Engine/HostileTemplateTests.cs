using System.Diagnostics;

namespace Underlay.Templates.Tests.Engine;

/// <summary>Hostile templates must end with a TemplateException in bounded time and memory: never a hang, a
/// stack overflow or an out-of-memory crash.</summary>
public sealed class HostileTemplateTests
{
    // Generous: the point is that they end; CI machines are shared and slow.
    private static readonly TimeSpan s_bound = TimeSpan.FromSeconds(60);

    private static TemplateException RenderFails(string text, object? data = null, RenderOptions? options = null)
    {
        var sw = Stopwatch.StartNew();
        var ex = Assert.Throws<TemplateException>(() =>
        {
            var t = TemplateEngine.Shared.ParseUncached("hostile", text);
            TemplateEngine.Shared.RenderToString(t, data, options);
        });
        Assert.True(sw.Elapsed < s_bound, $"took {sw.Elapsed}");
        return ex;
    }

    [Fact]
    public void Unclosed_action_is_a_parse_error_with_the_line()
    {
        var ex = RenderFails("line one\n{{ if .x }}\n{{ .y ");
        Assert.Equal(TemplateErrorKind.Parse, ex.Kind);
        Assert.Equal("hostile", ex.TemplateName);
        Assert.Equal(3, ex.Line);
        Assert.StartsWith("template: hostile:3: unclosed action", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_function_is_a_parse_error_even_in_a_branch_that_never_runs()
    {
        var ex = RenderFails("{{ if false }}{{ rm_rf \"/\" }}{{ end }}");
        Assert.Equal(TemplateErrorKind.Parse, ex.Kind);
        Assert.Contains("function \"rm_rf\" not defined", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Wrong_argument_count_is_an_execution_error_naming_line_and_column()
    {
        var ex = RenderFails("ok\n  {{ upper \"a\" \"b\" }}");
        Assert.Equal(TemplateErrorKind.Execution, ex.Kind);
        Assert.Equal(2, ex.Line);
        Assert.Equal(5, ex.Column);
        Assert.Equal("template: hostile:2:5: executing \"hostile\" at <upper>: wrong number of args for upper: want 1 got 2", ex.Message);
    }

    [Fact]
    public void Infinite_template_recursion_stops_at_the_depth_limit()
    {
        var ex = RenderFails("{{ define \"loop\" }}x{{ template \"loop\" . }}{{ end }}{{ template \"loop\" . }}");
        Assert.Equal(TemplateErrorKind.LimitExceeded, ex.Kind);
        Assert.Contains("exceeded maximum template depth (100)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Mutual_recursion_through_a_resolver_stops_at_the_depth_limit()
    {
        var engine = TemplateEngine.Shared;
        var a = engine.ParseUncached("a", "{{ template \"b\" . }}");
        var b = engine.ParseUncached("b", "{{ template \"a\" . }}");
        var options = RenderOptions.Default with
        {
            ResolveTemplate = name => name == "a" ? a : name == "b" ? b : null,
            MaxTemplateDepth = 5000,
        };

        // A deeper limit than the stack allows still ends cleanly: the stack probe reports it.
        var ex = Assert.Throws<TemplateException>(() => RunOnSmallStack(() => engine.RenderToString(a, null, options)));
        Assert.Equal(TemplateErrorKind.LimitExceeded, ex.Kind);
    }

    private static void RunOnSmallStack(Action action)
    {
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                action();
            }
            catch (Exception ex)
            {
                error = ex;
            }
        }, 256 * 1024);
        thread.Start();
        thread.Join();
        if (error is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        }
    }

    [Fact]
    public void Deeply_nested_parentheses_are_refused_without_overflowing_the_stack()
    {
        var text = "{{ " + new string('(', 100_000) + "1" + new string(')', 100_000) + " }}";
        var ex = Assert.Throws<TemplateException>(() => RunOnSmallStack(() => TemplateEngine.Shared.ParseUncached("deep", text)));
        Assert.Equal(TemplateErrorKind.Parse, ex.Kind);
    }

    [Fact]
    public void Deeply_nested_ifs_are_refused_without_overflowing_the_stack()
    {
        var text = string.Concat(Enumerable.Repeat("{{ if true }}", 50_000)) + "x" + string.Concat(Enumerable.Repeat("{{ end }}", 50_000));
        var ex = Assert.Throws<TemplateException>(() => RunOnSmallStack(() => TemplateEngine.Shared.ParseUncached("deep", text)));
        Assert.Equal(TemplateErrorKind.Parse, ex.Kind);
    }

    [Fact]
    public void Range_over_a_hundred_million_items_is_stopped_by_the_operation_budget()
    {
        var ex = RenderFails("{{ range until 100000000 }}{{ . }}{{ end }}");
        Assert.Equal(TemplateErrorKind.LimitExceeded, ex.Kind);
        Assert.Contains("operation budget", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Range_over_a_huge_integer_is_stopped_by_the_operation_budget()
    {
        var ex = RenderFails("{{ range 100000000 }}{{ end }}");
        Assert.Equal(TemplateErrorKind.LimitExceeded, ex.Kind);
    }

    [Fact]
    public void Nested_loops_are_stopped_by_the_operation_budget()
    {
        var ex = RenderFails("{{ range until 10000 }}{{ range until 10000 }}{{ end }}{{ end }}");
        Assert.Equal(TemplateErrorKind.LimitExceeded, ex.Kind);
    }

    [Fact]
    public void Output_beyond_the_cap_is_an_error()
    {
        var options = RenderOptions.Default with { MaxOutputChars = 1000 };
        var ex = RenderFails("{{ range until 500 }}abcdef{{ end }}", null, options);
        Assert.Equal(TemplateErrorKind.LimitExceeded, ex.Kind);
        Assert.Contains("output exceeds the limit of 1000 chars", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_huge_repeat_fails_before_allocating()
    {
        var ex = RenderFails("{{ repeat 2000000000 \"abcdefgh\" }}");
        Assert.Equal(TemplateErrorKind.LimitExceeded, ex.Kind);
    }

    [Fact]
    public void A_huge_until_fails_before_allocating()
    {
        var ex = RenderFails("{{ $x := until 2000000000 }}");
        Assert.Equal(TemplateErrorKind.LimitExceeded, ex.Kind);
    }

    [Fact]
    public void Doubling_a_string_in_a_loop_hits_a_limit()
    {
        var ex = RenderFails("{{ $s := \"ab\" }}{{ range until 64 }}{{ $s = print $s $s }}{{ end }}{{ len $s }}");
        Assert.Equal(TemplateErrorKind.LimitExceeded, ex.Kind);
    }

    [Fact]
    public void A_self_containing_dict_cannot_crash_printing()
    {
        var ex = RenderFails("{{ $d := dict }}{{ $_ := set $d \"me\" $d }}{{ $d }}");
        Assert.Equal(TemplateErrorKind.Execution, ex.Kind);
    }

    [Fact]
    public void A_self_containing_dict_cannot_crash_toJson()
    {
        var t = TemplateEngine.Shared.ParseUncached("j", "{{ $d := dict }}{{ $_ := set $d \"me\" $d }}[{{ toJson $d }}]");

        // Go's toJson swallows the error and yields "".
        Assert.Equal("[]", TemplateEngine.Shared.RenderToString(t, null));
    }

    [Fact]
    public void Catastrophic_regex_runs_in_linear_time()
    {
        var t = TemplateEngine.Shared.ParseUncached("re", "{{ regexMatch \"^(a+)+$\" .s }}");
        var sw = Stopwatch.StartNew();
        var result = TemplateEngine.Shared.RenderToString(t, new Dictionary<string, object?> { ["s"] = new string('a', 5000) + "b" });
        Assert.Equal("false", result);
        Assert.True(sw.Elapsed < s_bound);
    }

    [Fact]
    public void Cancellation_stops_a_long_render()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        var options = RenderOptions.Default with { CancellationToken = cts.Token, MaxOperations = long.MaxValue };
        var ex = RenderFails("{{ range until 1000000 }}{{ range until 1000 }}{{ end }}{{ end }}", null, options);
        Assert.Equal(TemplateErrorKind.Canceled, ex.Kind);
    }

    [Fact]
    public void A_timeout_stops_a_long_render()
    {
        var options = RenderOptions.Default with { Timeout = TimeSpan.FromMilliseconds(50), MaxOperations = long.MaxValue };
        var ex = RenderFails("{{ range until 1000000 }}{{ range until 1000 }}{{ end }}{{ end }}", null, options);
        Assert.Equal(TemplateErrorKind.LimitExceeded, ex.Kind);
        Assert.Contains("time limit", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_host_method_that_throws_becomes_an_error_calling_message()
    {
        var host = new TestObject { Methods = { ["Boom"] = _ => throw new InvalidOperationException("kaput") } };
        var ex = RenderFails("{{ .Boom 1 }}", host);
        Assert.Contains("error calling Boom: kaput", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Garbage_input_never_throws_anything_but_TemplateException()
    {
        var random = new Random(1234);
        const string alphabet = "{}()|$.\"'`-+ \n\tabcdefifrangeendelsewithdefinetemplate:=,0123456789/*";
        for (var i = 0; i < 3000; i++)
        {
            var chars = new char[random.Next(1, 60)];
            for (var j = 0; j < chars.Length; j++)
            {
                chars[j] = alphabet[random.Next(alphabet.Length)];
            }

            var text = "{{" + new string(chars);
            try
            {
                var t = TemplateEngine.Shared.ParseUncached("fuzz", text);
                TemplateEngine.Shared.RenderToString(t, new Dictionary<string, object?> { ["a"] = 1 }, RenderOptions.Default with { MaxOperations = 100_000 });
            }
            catch (TemplateException)
            {
            }
        }
    }
}

public sealed class HostileNestingTests
{
    [Fact]
    public void Nested_pipelines_at_the_parser_limit_execute_safely_on_a_small_stack()
    {
        var text = "{{ " + new string('(', 900) + "1" + new string(')', 900) + " }}";
        var t = TemplateEngine.Shared.ParseUncached("deep", text);
        string? result = null;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = TemplateEngine.Shared.RenderToString(t, null);
            }
            catch (Exception ex)
            {
                error = ex;
            }
        }, 128 * 1024);
        thread.Start();
        thread.Join();

        // Either it fits or it stops with a limit error; it never takes the process down.
        Assert.True(result == "1" || error is TemplateException { Kind: TemplateErrorKind.LimitExceeded }, error?.ToString());
    }

    [Fact]
    public void Deeply_nested_json_is_refused_by_fromJson()
    {
        var json = new string('[', 100_000) + new string(']', 100_000);
        var t = TemplateEngine.Shared.Parse("j", "[{{ fromJson .j }}]");
        Assert.Equal("[<no value>]", TemplateEngine.Shared.RenderToString(t, new Dictionary<string, object?> { ["j"] = json }));
    }
}

public sealed class HostileSizeTests
{
    private static readonly RenderOptions s_small = RenderOptions.Default with { MaxOutputChars = 100_000 };

    [Theory]
    [InlineData("{{ $s := repeat 50000 \"ab\" }}{{ $l := list $s $s $s $s }}{{ $x := join \",\" $l }}")]
    [InlineData("{{ $s := repeat 50000 \"ab\" }}{{ $l := list $s $s $s $s }}{{ $x := printf \"%v\" $l }}")]
    [InlineData("{{ $s := repeat 50000 \"ab\" }}{{ $l := list $s $s $s $s }}{{ $x := toJson $l }}")]
    [InlineData("{{ $s := repeat 50000 \"ab\" }}{{ $l := list $s $s $s $s }}{{ $x := toYaml $l }}")]
    [InlineData("{{ $s := repeat 50000 \"ab\" }}{{ $l := list $s $s $s $s }}{{ $x := cat $s $s $s }}")]
    [InlineData("{{ $s := repeat 50000 \"ab\" }}{{ $x := replace \"a\" \"aaaa\" $s }}")]
    [InlineData("{{ $s := repeat 50000 \"ab\" }}{{ $x := regexReplaceAll \"a\" $s \"xxxx\" }}")]
    [InlineData("{{ $x := indent 2000000000 \"a\\nb\" }}")]
    [InlineData("{{ $s := repeat 50000 \"\\n\" }}{{ $x := nindent 100 $s }}")]
    [InlineData("{{ $s := repeat 50000 \"ab\" }}{{ $l := list $s $s $s $s }}{{ $l }}")]
    public void Functions_cannot_build_values_beyond_the_output_cap(string text)
    {
        var t = TemplateEngine.Shared.ParseUncached("big", text);
        var ex = Assert.Throws<TemplateException>(() => TemplateEngine.Shared.RenderToString(t, null, s_small));
        Assert.Equal(TemplateErrorKind.LimitExceeded, ex.Kind);
    }
}
