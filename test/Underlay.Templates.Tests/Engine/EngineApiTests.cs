using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Underlay.Templates.Tests.Engine;

public sealed class EngineApiTests
{
    private static readonly TemplateEngine s_engine = TemplateEngine.Shared;

    private static string Render(string text, object? data = null, RenderOptions? options = null) =>
        s_engine.RenderToString(s_engine.Parse("t", text), data, options);

    private static TestObject Machine() => new()
    {
        Fields = { ["Name"] = "node1", ["Address"] = "10.0.0.5" },
        Methods = { ["MacAddr"] = args => args.Length == 0 ? "52:54:00:00:00:01" : $"01-52-54-00-00-00-01({args[0]})" },
    };

    private static TestObject RenderData()
    {
        var env = new TestObject
        {
            Fields = { ["Name"] = "centos-8", ["OS"] = new Dictionary<string, object?> { ["Family"] = "redhat" } },
            Methods = { ["PathFor"] = args => $"/{args[0]}/centos-8{args[1]}" },
        };
        var root = new TestObject { Fields = { ["Machine"] = Machine(), ["Env"] = env } };
        root.Methods["Param"] = args => args[0] switch
        {
            "kernel-console" => "console=ttyS0",
            "count" => 3.0,
            "ntp" => new List<object?> { "a", "b" },
            _ => null,
        };
        root.Methods["ParamExists"] = args => args[0] is "kernel-console" or "count" or "ntp";
        return root;
    }

    [Fact]
    public void Host_objects_expose_fields_and_methods_with_arguments()
    {
        var output = Render(
            "{{ .Machine.Name }} {{ .Machine.MacAddr }} {{ .Machine.MacAddr \"pxe\" }} {{ .Env.PathFor \"http\" \"/x\" }} {{ .Env.OS.Family }} {{ .Param \"kernel-console\" }}",
            RenderData());
        Assert.Equal("node1 52:54:00:00:00:01 01-52-54-00-00-00-01(pxe) /http/centos-8/x redhat console=ttyS0", output);
    }

    [Fact]
    public void A_piped_value_becomes_the_last_method_argument()
    {
        Assert.Equal("console=ttyS0", Render("{{ \"kernel-console\" | .Param }}", RenderData()));
    }

    [Fact]
    public void Method_results_flow_into_functions_and_ranges()
    {
        var output = Render(
            "{{ if .ParamExists \"ntp\" }}{{ range .Param \"ntp\" }}[{{ . }}]{{ end }}{{ end }} {{ .Param \"count\" | add 1 }} {{ .Param \"missing\" | default \"d\" }}",
            RenderData());
        Assert.Equal("[a][b] 4 d", output);
    }

    [Fact]
    public void Unknown_host_field_is_a_Go_style_error()
    {
        var ex = Assert.Throws<TemplateException>(() => Render("{{ .Machine.Nope }}", RenderData()));
        Assert.Equal("template: t:1:11: executing \"t\" at <.Machine.Nope>: can't evaluate field Nope in type TestObject", ex.Message);
    }

    [Fact]
    public void Arguments_to_a_host_field_are_an_error()
    {
        var ex = Assert.Throws<TemplateException>(() => Render("{{ .Machine.Name 1 }}", RenderData()));
        Assert.Contains("Name has arguments but cannot be invoked as function", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_template_fails_only_when_its_branch_runs()
    {
        var t = s_engine.Parse("t", "{{ if .x }}{{ template \"absent.tmpl\" . }}{{ end }}ok");
        Assert.Equal("ok", s_engine.RenderToString(t, new Dictionary<string, object?> { ["x"] = false }));
        var ex = Assert.Throws<TemplateException>(() => s_engine.RenderToString(t, new Dictionary<string, object?> { ["x"] = true }));
        Assert.Contains("template \"absent.tmpl\" not defined", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolver_supplies_templates_by_name_at_execution_time()
    {
        var store = new Dictionary<string, ParsedTemplate>
        {
            ["setup.tmpl"] = s_engine.Parse("setup.tmpl", "#setup {{ .Machine.Name }}{{ define \"helper\" }}H{{ end }}"),
        };
        var calls = 0;
        var options = RenderOptions.Default with
        {
            ResolveTemplate = name =>
            {
                calls++;
                return store.GetValueOrDefault(name);
            },
        };
        var t = s_engine.Parse("task", "{{ template \"setup.tmpl\" . }}|{{ template \"setup.tmpl\" . }}|{{ template \"helper\" }}");
        Assert.Equal("#setup node1|#setup node1|H", s_engine.RenderToString(t, RenderData(), options));
        Assert.Equal(1, calls);
    }

    [Fact]
    public void Template_sets_hold_associated_templates_and_their_defines()
    {
        var set = TemplateSet.Create(
        [
            s_engine.Parse("a.tmpl", "A[{{ template \"b.tmpl\" . }}]"),
            s_engine.Parse("b.tmpl", "B{{ . }}{{ define \"inner\" }}I{{ end }}"),
        ]);
        Assert.True(set.Contains("inner"));
        Assert.Equal("A[B7]", s_engine.RenderToString(set, "a.tmpl", 7));
        var t = s_engine.Parse("main", "{{ template \"inner\" }}{{ template \"a.tmpl\" 1 }}");
        Assert.Equal("IA[B1]", s_engine.RenderToString(t, null, RenderOptions.Default with { Templates = set }));
    }

    [Fact]
    public void Parse_is_cached_by_name_and_text()
    {
        var engine = new TemplateEngine();
        var a = engine.Parse("x", "{{ 1 }}");
        var b = engine.Parse("x", "{{ 1 }}");
        var c = engine.Parse("y", "{{ 1 }}");
        var d = engine.Parse("x", "{{ 2 }}");
        Assert.Same(a, b);
        Assert.NotSame(a, c);
        Assert.NotSame(a, d);
    }

    [Fact]
    public void Parse_errors_carry_template_name_and_line()
    {
        var ex = Assert.Throws<TemplateException>(() => s_engine.Parse("bad.tmpl", "a\nb\n{{ if }}"));
        Assert.Equal(TemplateErrorKind.Parse, ex.Kind);
        Assert.Equal("bad.tmpl", ex.TemplateName);
        Assert.Equal(3, ex.Line);
        Assert.Equal("template: bad.tmpl:3: missing value for if", ex.Message);
    }

    [Fact]
    public void Concurrent_renders_of_one_template_agree()
    {
        var t = s_engine.Parse("conc", "{{ range $i, $e := .list }}{{ $i }}:{{ $e | upper }};{{ end }}{{ $x := len .list }}{{ $x }}");
        var expected = s_engine.RenderToString(t, new Dictionary<string, object?> { ["list"] = new List<object?> { "a", "b", "c" } });
        var results = new string[2000];
        Parallel.For(0, results.Length, i =>
        {
            var data = new Dictionary<string, object?> { ["list"] = new List<object?> { "a", "b", "c" } };
            results[i] = s_engine.RenderToString(t, data);
        });
        Assert.All(results, r => Assert.Equal(expected, r));
        Assert.Equal("0:A;1:B;2:C;3", expected);
    }

    [Fact]
    public void Renders_to_every_kind_of_output()
    {
        var t = s_engine.Parse("out", "héllo {{ . }}");
        var sb = new StringBuilder("> ");
        s_engine.Render(t, 1, sb);
        Assert.Equal("> héllo 1", sb.ToString());

        using var sw = new StringWriter();
        s_engine.Render(t, 2, sw);
        Assert.Equal("héllo 2", sw.ToString());

        var chars = new ArrayBufferWriter<char>();
        s_engine.Render(t, 3, chars);
        Assert.Equal("héllo 3", new string(chars.WrittenSpan));

        var bytes = new ArrayBufferWriter<byte>();
        s_engine.Render(t, 4, bytes);
        Assert.Equal("héllo 4", Encoding.UTF8.GetString(bytes.WrittenSpan));
    }

    [Fact]
    public void A_failed_render_writes_nothing()
    {
        var t = s_engine.Parse("fail", "partial {{ index .list 9 }}");
        var sb = new StringBuilder();
        Assert.Throws<TemplateException>(() => s_engine.Render(t, new Dictionary<string, object?> { ["list"] = new List<object?>() }, sb));
        Assert.Equal(0, sb.Length);
    }

    [Fact]
    public void Engine_functions_are_callable_and_render_functions_replace_them()
    {
        var shout = new TemplateFunction("shout", 1, false, args => ((string)args[0]!).ToUpperInvariant() + "!");
        var engine = new TemplateEngine(new TemplateEngineOptions { Functions = new Dictionary<string, TemplateFunction> { ["shout"] = shout } });
        Assert.True(engine.HasFunction("shout"));
        var t = engine.Parse("f", "{{ shout \"hi\" }} {{ \"yo\" | shout }}");
        Assert.Equal("HI! YO!", engine.RenderToString(t, null));

        var whisper = new TemplateFunction("shout", 1, false, args => ((string)args[0]!).ToLowerInvariant());
        var options = RenderOptions.Default with { Functions = new Dictionary<string, TemplateFunction> { ["shout"] = whisper } };
        Assert.Equal("hi yo", engine.RenderToString(t, null, options));

        var ex = Assert.Throws<TemplateException>(() => engine.RenderToString(engine.Parse("g", "{{ shout 1 2 }}"), null));
        Assert.Contains("wrong number of args for shout: want 1 got 2", ex.Message, StringComparison.Ordinal);
        Assert.Throws<TemplateException>(() => TemplateEngine.Shared.Parse("f", "{{ shout \"x\" }}"));
    }

    [Fact]
    public void Call_invokes_function_values_from_data()
    {
        var fn = new TemplateFunction("sum", 0, true, args => args.ToArray().Sum(a => (int)a!));
        Assert.Equal("6", Render("{{ call .f 1 2 3 }}", new Dictionary<string, object?> { ["f"] = fn }));
    }

    [Fact]
    public void Missing_key_modes_behave_like_Go()
    {
        var data = new Dictionary<string, object?> { ["a"] = 1 };
        Assert.Equal("<no value>", Render("{{ .b }}", data));
        Assert.Equal("<no value>", Render("{{ .b }}", data, RenderOptions.Default with { MissingKey = MissingKeyMode.Zero }));
        var ex = Assert.Throws<TemplateException>(() => Render("{{ .b }}", data, RenderOptions.Default with { MissingKey = MissingKeyMode.Error }));
        Assert.EndsWith("map has no entry for key \"b\"", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_values_decode_as_Go_decodes_into_interface()
    {
        using var doc = JsonDocument.Parse("""{"n": 1000000, "f": 3.0, "s": "x", "l": [1, "a", null], "m": {"b": true, "a": 2.5}, "z": null}""");
        var fromElement = TemplateValues.FromJson(doc.RootElement);
        var fromNode = TemplateValues.FromJson(JsonNode.Parse(doc.RootElement.GetRawText()));
        const string text = "{{ .n }} {{ .f }} {{ .s }} {{ .l }} {{ .m }} {{ .z }} {{ printf \"%T\" .n }}";
        const string expected = "1e+06 3 x [1 a <nil>] map[a:2.5 b:true] <no value> float64";
        Assert.Equal(expected, Render(text, fromElement));
        Assert.Equal(expected, Render(text, fromNode));
        Assert.Equal(expected, Render(text, TemplateValues.FromJson(doc.RootElement.GetRawText())));
        Assert.Equal("""{"f":3,"l":[1,"a",null],"m":{"a":2.5,"b":true},"n":1000000,"s":"x","z":null}""", TemplateValues.ToJson(fromElement));
    }

    [Fact]
    public void Integer_kinds_compare_by_value_and_print_alike()
    {
        var data = new Dictionary<string, object?> { ["i"] = 5, ["l"] = 5L, ["u"] = 5u, ["b"] = (byte)5, ["ul"] = 5UL };
        Assert.Equal("true true true true 5 5 5 5 5", Render("{{ eq .i .l }} {{ eq .l .u }} {{ eq .b .ul }} {{ lt .i 6 }} {{ .i }} {{ .l }} {{ .u }} {{ .b }} {{ .ul }}", data));
    }

    [Fact]
    public void Nil_data_prints_no_value()
    {
        Assert.Equal("<no value> <no value>", Render("{{ . }} {{ .x }}"));
    }

    [Fact]
    public void Defined_templates_are_listed()
    {
        var t = s_engine.Parse("list", "{{ define \"a\" }}{{ end }}{{ block \"b\" . }}{{ end }}");
        Assert.Equal(["a", "b", "list"], t.DefinedTemplates.Order(StringComparer.Ordinal));
    }
}

public sealed class EngineDetailTests
{
    [Fact]
    public void Parse_errors_also_carry_the_column_of_the_token_at_fault()
    {
        var ex = Assert.Throws<TemplateException>(() => TemplateEngine.Shared.ParseUncached("c", "ok\n  {{ nosuch 1 }}"));
        Assert.Equal(2, ex.Line);
        Assert.Equal(5, ex.Column);
        Assert.Equal("template: c:2: function \"nosuch\" not defined", ex.Message);
    }

    [Fact]
    public void Uuidv4_produces_random_version_4_uuids()
    {
        var t = TemplateEngine.Shared.Parse("u", "{{ uuidv4 }}");
        var a = TemplateEngine.Shared.RenderToString(t, null);
        var b = TemplateEngine.Shared.RenderToString(t, null);
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", a);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void Rendering_inside_a_host_method_reuses_no_state_of_the_outer_render()
    {
        var engine = TemplateEngine.Shared;
        var inner = engine.Parse("inner", "<{{ range . }}{{ . }}{{ end }}>");
        var host = new TestObject();
        host.Methods["CallTemplate"] = args => engine.RenderToString(inner, args[0]);
        var outer = engine.Parse("outer", "{{ $x := 1 }}{{ range .L }}{{ $.H.CallTemplate $.L }}{{ $x }}{{ end }}");
        var data = new Dictionary<string, object?> { ["H"] = host, ["L"] = new List<object?> { "a", "b" } };
        Assert.Equal("<ab>1<ab>1", engine.RenderToString(outer, data));
    }
}
