using System.Collections;
using System.Runtime.CompilerServices;
using System.Text;
using Underlay.Templates.Parsing;
using Underlay.Templates.Values;

namespace Underlay.Templates.Execution;

/// <summary>
/// The per-render state and the tree-walking executor, following the evaluation rules of Go's text/template
/// exec.go. Parsed trees are never mutated; everything that changes during a render lives here, and an instance
/// is reused (one per thread) so steady-state renders allocate little beyond the values templates create.
/// </summary>
internal sealed partial class RenderContext
{
    [ThreadStatic]
    private static RenderContext? t_cached;

    /// <summary>Stands for Go's missingVal: "no final (piped) argument".</summary>
    private static readonly object s_noFinal = new();

    private const int Normal = 0;
    private const int BreakFlow = 1;
    private const int ContinueFlow = 2;

    private readonly OutputBuffer _out = new();
    private Variable[] _vars = new Variable[32];
    private int _varCount;
    private int _varBase;
    private object?[] _args = new object?[64];
    private int _argTop;
    private long _ops;
    private long _nextCheck;
    private long _deadline;
    private int _depth;
    private Node? _at;
    private string _execName = "";
    private ParsedTemplate _root = null!;
    private Dictionary<string, Tree>? _resolved;
    private long _savedValueLimit;

    private struct Variable
    {
        public string Name;
        public object? Value;
    }

    public RenderOptions Options { get; private set; } = RenderOptions.Default;

    public TemplateEngine Engine { get; private set; } = null!;

    public static RenderContext Rent(TemplateEngine engine, ParsedTemplate root, RenderOptions options)
    {
        var ctx = t_cached ?? new RenderContext();
        t_cached = null;
        ctx.Engine = engine;
        ctx.Options = options;
        ctx._root = root;
        ctx._ops = 0;
        ctx._nextCheck = Math.Min(1024, options.MaxOperations + 1);
        ctx._deadline = options.Timeout is { } t ? Environment.TickCount64 + (long)t.TotalMilliseconds : long.MaxValue;
        ctx._depth = 0;
        ctx._varCount = 0;
        ctx._varBase = 0;
        ctx._argTop = 0;
        ctx._at = null;
        ctx._out.Clear();
        ctx._out.Limit = options.MaxOutputChars;
        ctx._out.OnLimit ??= ctx.OutputLimitReached;
        ctx._savedValueLimit = ValueLimit.Current;
        ValueLimit.Current = options.MaxOutputChars;
        return ctx;
    }

    public static void Return(RenderContext ctx)
    {
        ValueLimit.Current = ctx._savedValueLimit;
        ctx._resolved = null;
        ctx._root = null!;
        ctx.Engine = null!;
        ctx.Options = RenderOptions.Default;
        Array.Clear(ctx._vars, 0, Math.Min(ctx._vars.Length, 64));
        Array.Clear(ctx._args);
        ctx._out.Trim();
        t_cached = ctx;
    }

    public ReadOnlySpan<char> Output => _out.Written;

    /// <summary>Runs <paramref name="tree"/> with <paramref name="data"/> as dot and $.</summary>
    public void Execute(Tree tree, object? data)
    {
        _execName = tree.Name;

        // Go wraps the data in reflect.ValueOf: nil data is the invalid value, not a nil interface.
        data ??= NoValue.Instance;
        PushVar("$", data);
        Walk(data, tree.Root);
    }

    // ---- limits ----

    /// <summary>Charges work to the operation budget; functions call this for work proportional to their output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Charge(long steps)
    {
        _ops += steps;
        if (_ops >= _nextCheck)
        {
            CheckLimits();
        }
    }

    /// <summary>Charges for a string a function built and refuses one longer than the output cap, so values built
    /// up in variables (never written) stay bounded too.</summary>
    public void ChargeString(int length)
    {
        if (length > Options.MaxOutputChars)
        {
            throw Limit($"value exceeds the output limit of {Options.MaxOutputChars} chars");
        }

        Charge(length / 64);
    }

    private void CheckLimits()
    {
        if (_ops > Options.MaxOperations)
        {
            throw Limit($"exceeded the operation budget ({Options.MaxOperations})");
        }

        if (Options.CancellationToken.IsCancellationRequested)
        {
            throw MakeError(TemplateErrorKind.Canceled, "render canceled", null);
        }

        if (_deadline != long.MaxValue && Environment.TickCount64 > _deadline)
        {
            throw Limit($"exceeded the time limit ({Options.Timeout})");
        }

        _nextCheck = Math.Min(_ops + 1024, Options.MaxOperations + 1);
    }

    private void OutputLimitReached(long limit) => throw Limit($"output exceeds the limit of {limit} chars");

    private TemplateException Limit(string message) => MakeError(TemplateErrorKind.LimitExceeded, message, null);

    // ---- errors ----

    private TemplateException Error(string message, Exception? inner = null) => MakeError(TemplateErrorKind.Execution, message, inner);

    private TemplateException MakeError(TemplateErrorKind kind, string message, Exception? inner)
    {
        if (_at is null)
        {
            return new TemplateException(kind, $"template: {_execName}: {message}", _execName, 0, 0, inner);
        }

        var (line, column) = _at.Source.LineColumn(_at.Pos);
        var context = _at.ToString();
        var name = _at.Source.ParseName;
        return new TemplateException(
            kind,
            $"template: {name}:{line}:{column}: executing {GoFormat.Quote(_execName)} at <{context}>: {message}",
            name,
            line,
            column,
            inner);
    }

    // ---- variables ----

    private void PushVar(string name, object? value)
    {
        if (_varCount == _vars.Length)
        {
            Array.Resize(ref _vars, _vars.Length * 2);
        }

        _vars[_varCount].Name = name;
        _vars[_varCount].Value = value;
        _varCount++;
    }

    private void SetVar(string name, object? value)
    {
        for (var i = _varCount - 1; i >= _varBase; i--)
        {
            if (ReferenceEquals(_vars[i].Name, name) || _vars[i].Name == name)
            {
                _vars[i].Value = value;
                return;
            }
        }

        throw Error($"undefined variable: {name}");
    }

    private object? VarValue(string name)
    {
        for (var i = _varCount - 1; i >= _varBase; i--)
        {
            if (ReferenceEquals(_vars[i].Name, name) || _vars[i].Name == name)
            {
                return _vars[i].Value;
            }
        }

        throw Error($"undefined variable: {name}");
    }

    // ---- walking ----

    private int Walk(object? dot, Node node)
    {
        _at = node;
        if (++_ops >= _nextCheck)
        {
            CheckLimits();
        }

        // Dispatch on the node's tag; the casts are then exact (a chain of type tests costs more per node).
        switch (node.Type)
        {
            case NodeType.Text:
                _out.Append(Unsafe.As<TextNode>(node).Text);
                return Normal;
            case NodeType.Action:
                var action = Unsafe.As<ActionNode>(node);
                var value = EvalPipeline(dot, action.Pipe);
                if (action.Pipe.Decl.Length == 0)
                {
                    PrintValue(action, value);
                }

                return Normal;
            case NodeType.List:
                foreach (var n in Unsafe.As<ListNode>(node).Nodes)
                {
                    var flow = Walk(dot, n);
                    if (flow != Normal)
                    {
                        return flow;
                    }
                }

                return Normal;
            case NodeType.If or NodeType.With:
                return WalkIfOrWith(dot, Unsafe.As<BranchNode>(node));
            case NodeType.Range:
                return WalkRange(dot, Unsafe.As<BranchNode>(node));
            case NodeType.Template:
                WalkTemplate(dot, Unsafe.As<TemplateNode>(node));
                return Normal;
            case NodeType.Break:
                return BreakFlow;
            case NodeType.Continue:
                return ContinueFlow;
            default:
                throw Error($"unknown node: {node}");
        }
    }

    private int WalkIfOrWith(object? dot, BranchNode node)
    {
        EnsureStack();
        var mark = _varCount;
        try
        {
            var val = EvalPipeline(dot, node.Pipe);
            if (GoValue.IsTrue(val))
            {
                return Walk(node.Type == NodeType.With ? val : dot, node.List);
            }

            if (node.ElseList is not null)
            {
                return Walk(dot, node.ElseList);
            }

            return Normal;
        }
        finally
        {
            PopTo(mark);
        }
    }

    private void PopTo(int mark)
    {
        for (var i = mark; i < _varCount; i++)
        {
            _vars[i].Value = null;
        }

        _varCount = mark;
    }

    private void EnsureStack()
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            throw Limit("exceeded maximum template depth (stack exhausted)");
        }
    }

    private int WalkRange(object? dot, BranchNode r)
    {
        EnsureStack();
        _at = r;
        var mark = _varCount;
        try
        {
            var val = EvalPipeline(dot, r.Pipe);
            var iterMark = _varCount;
            var decl = r.Pipe.Decl;
            var ran = false;
            switch (val)
            {
                case IList list:
                    for (var i = 0; i < list.Count; i++)
                    {
                        ran = true;
                        var flow = OneIteration(r, iterMark, GoValue.Box(i), list[i]);
                        if (flow == BreakFlow)
                        {
                            break;
                        }
                    }

                    break;
                case string s:
                    throw Error($"range can't iterate over {s}");
                case null or NoValue:
                    break;
                case not null when GoValue.IsMap(val):
                    foreach (var key in GoValue.SortedKeys(val))
                    {
                        ran = true;
                        var flow = OneIteration(r, iterMark, key, GoValue.MapGet(val, key));
                        if (flow == BreakFlow)
                        {
                            break;
                        }
                    }

                    break;
                case not null when GoValue.IsInteger(val):
                    {
                        // Go 1.22: range over an integer n yields 0..n-1.
                        if (decl.Length > 1)
                        {
                            throw Error($"can't use {GoFormat.Sprint(val)} to iterate over more than one variable");
                        }

                        var n = GoValue.ToInt64(val);
                        for (long i = 0; i < n; i++)
                        {
                            ran = true;
                            var boxed = i < int.MaxValue ? GoValue.Box((int)i) : (object)i;
                            var flow = OneIteration(r, iterMark, boxed, boxed);
                            if (flow == BreakFlow)
                            {
                                break;
                            }
                        }

                        break;
                    }

                default:
                    throw Error($"range can't iterate over {GoFormat.Sprint(val)}");
            }

            if (!ran && r.ElseList is not null)
            {
                return Walk(dot, r.ElseList);
            }

            return Normal;
        }
        finally
        {
            PopTo(mark);
        }
    }

    private int OneIteration(BranchNode r, int iterMark, object index, object? elem)
    {
        var decl = r.Pipe.Decl;
        if (decl.Length > 0)
        {
            if (r.Pipe.IsAssign)
            {
                if (decl.Length > 1)
                {
                    SetVar(decl[0].Ident[0], index);
                    SetVar(decl[1].Ident[0], elem);
                }
                else
                {
                    SetVar(decl[0].Ident[0], elem);
                }
            }
            else
            {
                // The declared variables are the topmost ones: the last is the element, the one before the key.
                _vars[iterMark - 1].Value = elem;
                if (decl.Length > 1)
                {
                    _vars[iterMark - 2].Value = index;
                }
            }
        }

        var flow = Walk(elem, r.List);
        PopTo(iterMark);
        return flow;
    }

    private void WalkTemplate(object? dot, TemplateNode t)
    {
        _at = t;
        var tree = LookupTemplate(t.Name) ?? throw Error($"template {GoFormat.Quote(t.Name)} not defined");
        if (_depth >= Options.MaxTemplateDepth)
        {
            throw Limit($"exceeded maximum template depth ({Options.MaxTemplateDepth})");
        }

        EnsureStack();
        var newDot = t.Pipe is null ? NoValue.Instance : EvalPipeline(dot, t.Pipe);
        var savedBase = _varBase;
        var savedCount = _varCount;
        var savedName = _execName;
        _depth++;
        _varBase = _varCount;
        _execName = tree.Name;
        PushVar("$", newDot);
        try
        {
            Walk(newDot, tree.Root);
        }
        finally
        {
            PopTo(savedCount);
            _varBase = savedBase;
            _execName = savedName;
            _depth--;
        }
    }

    private Tree? LookupTemplate(string name)
    {
        if (_root.Trees.TryGetValue(name, out var tree))
        {
            return tree;
        }

        if (_resolved is not null && _resolved.TryGetValue(name, out tree))
        {
            return tree;
        }

        if (Options.Templates is { } set && set.TryGet(name, out tree))
        {
            return tree;
        }

        if (Options.ResolveTemplate is { } resolve && resolve(name) is { } parsed)
        {
            if (!parsed.Trees.TryGetValue(name, out tree))
            {
                tree = parsed.Main;
            }

            // The resolved text's own {{define}}s become visible too, as they would in DRP's shared template tree.
            _resolved ??= new Dictionary<string, Tree>(StringComparer.Ordinal);
            foreach (var (n, tr) in parsed.Trees)
            {
                _resolved.TryAdd(n, tr);
            }

            _resolved[name] = tree;
            return tree;
        }

        return null;
    }

    private void PrintValue(Node node, object? value)
    {
        _at = node;
        switch (value)
        {
            case string s:
                _out.Append(s);
                return;
            case NoValue:
                _out.Append("<no value>");
                return;
            case int i:
                {
                    var span = _out.GetSpan(11);
                    i.TryFormat(span, out var written, default, System.Globalization.CultureInfo.InvariantCulture);
                    _out.Advance(written);
                    return;
                }

            case bool b:
                _out.Append(b ? "true" : "false");
                return;
            case double d when d == Math.Floor(d) && Math.Abs(d) < 1e6 && !(d == 0 && double.IsNegative(d)):
                {
                    // JSON numbers are float64; whole ones below 1e6 print as integers under Go's %v.
                    var span = _out.GetSpan(8);
                    ((int)d).TryFormat(span, out var written, default, System.Globalization.CultureInfo.InvariantCulture);
                    _out.Advance(written);
                    return;
                }

            case TemplateFunction f:
                throw Error($"can't print {node} of type func");
            default:
                try
                {
                    GoFormat.AppendValue(_out, value, Charge);
                }
                catch (TemplateFunctionException ex)
                {
                    throw Error(ex.Message, ex);
                }
                catch (ValueTooLargeException ex)
                {
                    throw Limit(ex.Message);
                }

                return;
        }
    }

    // ---- evaluation ----

    private object? EvalPipeline(object? dot, PipeNode pipe)
    {
        // Parenthesized pipelines nest up to the parser's limit; make sure a small thread stack cannot overflow.
        EnsureStack();
        _at = pipe;
        var value = s_noFinal;
        foreach (var cmd in pipe.Cmds)
        {
            value = EvalCommand(dot, cmd, value);

            // Go unwraps interface{} results; a nil interface becomes the invalid value.
            value ??= NoValue.Instance;
        }

        foreach (var v in pipe.Decl)
        {
            if (pipe.IsAssign)
            {
                SetVar(v.Ident[0], value);
            }
            else
            {
                PushVar(v.Ident[0], value);
            }
        }

        return value;
    }

    private object? EvalCommand(object? dot, CommandNode cmd, object? final)
    {
        Charge(1);
        var first = cmd.Args[0];
        switch (first.Type)
        {
            case NodeType.Field:
                return EvalFieldNode(dot, Unsafe.As<FieldNode>(first), cmd.Args, final);
            case NodeType.Chain:
                return EvalChainNode(dot, Unsafe.As<ChainNode>(first), cmd.Args, final);
            case NodeType.Identifier:
                return EvalFunction(dot, Unsafe.As<IdentifierNode>(first), cmd, cmd.Args, final);
            case NodeType.Pipe:
                NotAFunction(cmd.Args, final);
                return EvalPipeline(dot, Unsafe.As<PipeNode>(first));
            case NodeType.Variable:
                return EvalVariableNode(dot, Unsafe.As<VariableNode>(first), cmd.Args, final);
        }

        _at = first;
        NotAFunction(cmd.Args, final);
        switch (first)
        {
            case BoolNode b:
                return b.Boxed;
            case DotNode:
                return dot;
            case NilNode:
                throw Error("nil is not a command");
            case NumberNode n:
                return IdealConstant(n);
            case StringNode s:
                return s.Text;
        }

        throw Error($"can't evaluate command {GoFormat.Quote(first.ToString())}");
    }

    private object IdealConstant(NumberNode n)
    {
        _at = n;
        if (n.Constant is null)
        {
            throw Error(n.ConstantError ?? $"can't evaluate {n}");
        }

        return n.Constant;
    }

    private void NotAFunction(Node[]? args, object? final)
    {
        if ((args is not null && args.Length > 1) || final != s_noFinal)
        {
            throw Error($"can't give argument to non-function {args![0]}");
        }
    }

    private object? EvalFieldNode(object? dot, FieldNode field, Node[]? args, object? final)
    {
        _at = field;
        return EvalFieldChain(dot, dot, field, field.Ident, args, final);
    }

    private object? EvalChainNode(object? dot, ChainNode chain, Node[]? args, object? final)
    {
        _at = chain;
        if (chain.Node is NilNode)
        {
            throw Error($"indirection through explicit nil in {chain}");
        }

        var pipe = EvalArg(dot, ParamKind.Reflect, chain.Node);
        return EvalFieldChain(dot, pipe, chain, chain.Field, args, final);
    }

    private object? EvalVariableNode(object? dot, VariableNode variable, Node[]? args, object? final)
    {
        _at = variable;
        var value = VarValue(variable.Ident[0]);
        if (variable.Ident.Length == 1)
        {
            NotAFunction(args, final);
            return value;
        }

        return EvalFieldChain(dot, value, variable, variable.Ident.AsSpan(1), args, final);
    }

    private object? EvalFieldChain(object? dot, object? receiver, Node node, ReadOnlySpan<string> ident, Node[]? args, object? final)
    {
        var n = ident.Length;
        for (var i = 0; i < n - 1; i++)
        {
            receiver = EvalField(dot, ident[i], node, null, s_noFinal, receiver);
        }

        return EvalField(dot, ident[n - 1], node, args, final, receiver);
    }

    private object? EvalField(object? dot, string fieldName, Node node, Node[]? args, object? final, object? receiver)
    {
        if (receiver is NoValue)
        {
            if (Options.MissingKey == MissingKeyMode.Error)
            {
                throw Error($"nil data; no entry for key {GoFormat.Quote(fieldName)}");
            }

            return NoValue.Instance;
        }

        if (receiver is null)
        {
            throw Error($"nil pointer evaluating interface {{}}.{fieldName}");
        }

        var hasArgs = (args is not null && args.Length > 1) || final != s_noFinal;
        if (receiver is ITemplateObject obj)
        {
            if (!hasArgs && obj.TryGetField(fieldName, out var fieldValue))
            {
                return fieldValue;
            }

            return CallMethod(dot, obj, fieldName, node, args, final, hasArgs);
        }

        if (GoValue.IsMap(receiver))
        {
            if (hasArgs)
            {
                throw Error($"{fieldName} is not a method but has arguments");
            }

            if (GoValue.MapTryGet(receiver, fieldName, out var result))
            {
                return result;
            }

            return Options.MissingKey switch
            {
                MissingKeyMode.Zero => null,
                MissingKeyMode.Error => throw Error($"map has no entry for key {GoFormat.Quote(fieldName)}"),
                _ => NoValue.Instance,
            };
        }

        // Values reached through maps and lists have Go's static type interface{}.
        throw Error($"can't evaluate field {fieldName} in type interface {{}}");
    }

    private object? CallMethod(object? dot, ITemplateObject obj, string name, Node node, Node[]? args, object? final, bool hasArgs)
    {
        var argCount = (args is null ? 0 : args.Length - 1) + (final != s_noFinal ? 1 : 0);
        var start = ReserveArgs(argCount);
        var k = 0;
        if (args is not null)
        {
            for (var i = 1; i < args.Length; i++)
            {
                var v = EvalArg(dot, ParamKind.Any, args[i]);
                _args[start + k++] = v;
            }
        }

        if (final != s_noFinal)
        {
            _args[start + k] = final is NoValue ? null : final;
        }

        try
        {
            bool found;
            object? result;
            try
            {
                found = obj.TryCallMethod(name, _args.AsSpan(start, argCount), out result);
            }
            catch (Exception ex) when (ex is not TemplateException and not OutOfMemoryException)
            {
                _at = node;
                throw Error($"error calling {name}: {ex.Message}", ex);
            }

            if (found)
            {
                return result;
            }

            _at = node;
            if (hasArgs && obj.TryGetField(name, out _))
            {
                throw Error($"{name} has arguments but cannot be invoked as function");
            }

            throw Error($"can't evaluate field {name} in type {GoValue.TypeName(obj)}");
        }
        finally
        {
            ReleaseArgs(start, argCount);
        }
    }

    private int ReserveArgs(int count)
    {
        var start = _argTop;
        if (start + count > _args.Length)
        {
            Array.Resize(ref _args, Math.Max(_args.Length * 2, start + count));
        }

        _argTop = start + count;
        return start;
    }

    private void ReleaseArgs(int start, int count)
    {
        Array.Clear(_args, start, count);
        _argTop = start;
    }

    private TemplateFunction ResolveFunction(IdentifierNode node)
    {
        if (Options.Functions is { } overrides && overrides.TryGetValue(node.Ident, out var fn))
        {
            return fn;
        }

        return node.Function;
    }

    private object? EvalFunction(object? dot, IdentifierNode node, Node cmd, Node[]? args, object? final)
    {
        _at = node;
        var function = ResolveFunction(node);
        return EvalCall(dot, function, cmd, node.Ident, args, final);
    }

    private object? EvalCall(object? dot, TemplateFunction fn, Node node, string name, Node[]? args, object? final)
    {
        var argNodes = args is null ? 0 : args.Length - 1;
        var numIn = argNodes + (final != s_noFinal ? 1 : 0);
        if (fn.IsVariadic)
        {
            if (numIn < fn.MinArgs)
            {
                throw Error($"wrong number of args for {name}: want at least {fn.MinArgs} got {argNodes}");
            }
        }
        else if (numIn != fn.MinArgs)
        {
            throw Error($"wrong number of args for {name}: want {fn.MinArgs} got {numIn}");
        }

        if (fn.IsShortCircuit)
        {
            // and/or: evaluate left to right, stop at the deciding value and return it.
            var isOr = name == "or" || fn.Name == "or";
            object? v = null;
            for (var i = 1; i <= argNodes; i++)
            {
                v = EvalArg(dot, ParamKind.Reflect, args![i]);
                if (GoValue.IsTrue(v) == isOr)
                {
                    return v;
                }
            }

            if (final != s_noFinal)
            {
                v = final;
            }

            return v;
        }

        var start = ReserveArgs(numIn);
        try
        {
            var i = 0;
            for (; i < argNodes; i++)
            {
                var v = EvalArg(dot, fn.KindAt(i), args![i + 1]);
                _args[start + i] = v;
            }

            if (final != s_noFinal)
            {
                _args[start + i] = ValidateType(final, fn.KindAt(i));
            }

            try
            {
                return fn.Invoke(this, _args.AsSpan(start, numIn));
            }
            catch (ValueTooLargeException ex)
            {
                throw Limit(ex.Message);
            }
            catch (Exception ex) when (ex is not TemplateException and not OutOfMemoryException and not InsufficientExecutionStackException)
            {
                _at = node;
                throw Error($"error calling {name}: {ex.Message}", ex);
            }
        }
        finally
        {
            ReleaseArgs(start, numIn);
        }
    }

    private object? EvalArg(object? dot, ParamKind kind, Node n)
    {
        _at = n;
        if (n.Type == NodeType.String && kind is ParamKind.Any or ParamKind.Reflect or ParamKind.String)
        {
            // The common case (.Param "name"): a string literal where a string or anything is accepted.
            return Unsafe.As<StringNode>(n).Text;
        }

        switch (n)
        {
            case DotNode:
                return ValidateType(dot, kind);
            case NilNode:
                return kind switch
                {
                    ParamKind.Any or ParamKind.Map or ParamKind.StringList => null,
                    ParamKind.Reflect => NoValue.Instance,
                    _ => throw Error($"cannot assign nil to {KindName(kind)}"),
                };
            case FieldNode field:
                return ValidateType(EvalFieldNode(dot, field, null, s_noFinal), kind);
            case VariableNode variable:
                return ValidateType(EvalVariableNode(dot, variable, null, s_noFinal), kind);
            case PipeNode pipe:
                return ValidateType(EvalPipeline(dot, pipe), kind);
            case IdentifierNode ident:
                return ValidateType(EvalFunction(dot, ident, ident, null, s_noFinal), kind);
            case ChainNode chain:
                return ValidateType(EvalChainNode(dot, chain, null, s_noFinal), kind);
        }

        switch (kind)
        {
            case ParamKind.Bool:
                if (n is BoolNode b)
                {
                    return b.Boxed;
                }

                throw Error($"expected bool; found {n}");
            case ParamKind.String:
                if (n is StringNode s)
                {
                    return s.Text;
                }

                throw Error($"expected string; found {n}");
            case ParamKind.Int:
                if (n is NumberNode { IsInt: true } num && num.Int64 is >= int.MinValue and <= int.MaxValue)
                {
                    return GoValue.Box((int)num.Int64);
                }

                if (n is NumberNode { IsInt: true } big)
                {
                    return big.Int64;
                }

                throw Error($"expected integer; found {n}");
            case ParamKind.Float64:
                if (n is NumberNode { IsFloat: true } f)
                {
                    return f.Float64;
                }

                throw Error($"expected float; found {n}");
            case ParamKind.Map or ParamKind.StringList:
                throw Error($"can't handle {n} for arg of type {KindName(kind)}");
        }

        // interface{} and reflect.Value: Go's evalEmptyInterface.
        switch (n)
        {
            case BoolNode b:
                return b.Boxed;
            case NumberNode num:
                return IdealConstant(num);
            case StringNode s:
                return s.Text;
        }

        throw Error($"can't handle assignment of {n} to empty interface argument");
    }

    private static string KindName(ParamKind kind) => kind switch
    {
        ParamKind.String => "string",
        ParamKind.Int => "int",
        ParamKind.Bool => "bool",
        ParamKind.Float64 => "float64",
        ParamKind.Map => "map[string]interface {}",
        ParamKind.StringList => "[]string",
        ParamKind.Reflect => "reflect.Value",
        _ => "interface {}",
    };

    /// <summary>Go's validateType: checks (and for invalid values converts) an evaluated argument.</summary>
    private object? ValidateType(object? value, ParamKind kind)
    {
        if (value is NoValue)
        {
            return kind switch
            {
                ParamKind.Reflect => value,
                ParamKind.Any or ParamKind.Map or ParamKind.StringList => null,
                _ => throw Error($"invalid value; expected {KindName(kind)}"),
            };
        }

        var ok = kind switch
        {
            ParamKind.Any or ParamKind.Reflect => true,
            ParamKind.String => value is string,
            ParamKind.Int => value is int,
            ParamKind.Bool => value is bool,
            ParamKind.Float64 => value is double,
            ParamKind.Map => value is null || GoValue.IsMap(value),
            ParamKind.StringList => value is null || value is string[] || value is IList<string>,
            _ => true,
        };
        if (!ok)
        {
            throw Error($"wrong type for value; expected {KindName(kind)}; got {(value is null ? "interface {}" : GoValue.TypeName(value))}");
        }

        return value;
    }

    /// <summary>For Go's <c>call</c> builtin: invokes a function value with already evaluated arguments.</summary>
    public object? CallFunctionValue(TemplateFunction fn, ReadOnlySpan<object?> args)
    {
        if (fn.IsVariadic ? args.Length < fn.MinArgs : args.Length != fn.MinArgs)
        {
            throw new TemplateFunctionException(fn.IsVariadic
                ? $"wrong number of args: got {args.Length} want at least {fn.MinArgs}"
                : $"wrong number of args: got {args.Length} want {fn.MinArgs}");
        }

        return fn.Invoke(this, args);
    }
}
